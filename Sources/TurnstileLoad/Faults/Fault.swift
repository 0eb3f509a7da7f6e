import NIOCore

/// A fault the ``FaultProxy`` puts on its link.
public enum Fault: Sendable, Equatable, CustomStringConvertible {
    /// Every chunk is held back by `delay`, give or take up to `jitter`, in each direction (order kept).
    case latency(delay: TimeAmount, jitter: TimeAmount)
    /// At most this many bytes per second per connection and direction.
    case bandwidth(bytesPerSecond: Int)
    /// Open connections are reset when the fault begins; new ones are reset as they arrive.
    case reset
    /// Connections are accepted and held, but nothing goes through in either direction.
    case blackhole
    /// Each connection is closed once this many bytes have gone through it (both directions) since the fault began.
    case closeAfter(bytes: Int)
    /// Nothing works: open connections are reset and new ones refused (reset at once) until the fault ends.
    case outage

    public var description: String {
        switch self {
        case .latency(let delay, let jitter):
            "latency=\(delay.milliseconds)ms" + (jitter == .zero ? "" : "~\(jitter.milliseconds)ms")
        case .bandwidth(let rate): "bandwidth=\(rate)B/s"
        case .reset: "reset"
        case .blackhole: "blackhole"
        case .closeAfter(let bytes): "close-after=\(bytes)"
        case .outage: "outage"
        }
    }
}

extension TimeAmount {
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

/// A fault over a window of a run: `outage@10s+10s` is an outage from 10 s to 20 s after the proxy starts.
public struct ScheduledFault: Sendable, Equatable, CustomStringConvertible {
    /// The link it applies to, when the spec names one (`db:outage@10s+10s`).
    public var link: String?
    public var fault: Fault
    public var start: TimeAmount
    public var length: TimeAmount

    public init(link: String? = nil, _ fault: Fault, at start: TimeAmount, for length: TimeAmount) {
        self.link = link
        self.fault = fault
        self.start = start
        self.length = length
    }

    public var end: TimeAmount { start + length }

    public var description: String {
        (link.map { "\($0):" } ?? "") + "\(fault)@\(Self.format(start))+\(Self.format(length))"
    }

    static func format(_ time: TimeAmount) -> String {
        time.nanoseconds % 1_000_000_000 == 0 ? "\(time.nanoseconds / 1_000_000_000)s" : "\(time.milliseconds)ms"
    }

    /// Parses `[LINK:]FAULT@START+LENGTH`, where FAULT is `outage`, `reset`, `blackhole`, `latency=200ms[~50ms]`,
    /// `bandwidth=10000` (bytes per second) or `close-after=1000` (bytes), and times are `10s`, `500ms` or `2m`.
    public init(parsing text: String) throws(FaultSpecError) {
        var rest = Substring(text)
        if let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains("=") {
            link = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        guard let at = rest.firstIndex(of: "@") else { throw FaultSpecError(text, "say when: FAULT@START+LENGTH") }
        let timing = rest[rest.index(after: at)...].split(separator: "+", maxSplits: 1)
        guard timing.count == 2, let start = TimeAmount(parsing: timing[0]),
            let length = TimeAmount(parsing: timing[1]),
            length > .zero
        else { throw FaultSpecError(text, "the window must read START+LENGTH, e.g. 10s+10s") }
        self.start = start
        self.length = length
        fault = try Fault(parsing: String(rest[..<at]), in: text)
    }
}

extension Fault {
    /// Parses `outage`, `reset`, `blackhole`, `latency=200ms[~50ms]`, `bandwidth=10000` (bytes per second) or
    /// `close-after=1000` (bytes); errors quote `text`, the whole spec it came from.
    public init(parsing effect: String, in text: String? = nil) throws(FaultSpecError) {
        let text = text ?? effect
        let kind = effect.split(separator: "=", maxSplits: 1)
        let value = kind.count == 2 ? kind[1] : nil
        switch (kind.first.map(String.init) ?? "", value) {
        case ("outage", nil): self = .outage
        case ("reset", nil): self = .reset
        case ("blackhole", nil): self = .blackhole
        case ("latency", let value?):
            let parts = value.split(separator: "~", maxSplits: 1)
            guard let delay = parts.first.flatMap({ TimeAmount(parsing: $0) }),
                let jitter = parts.count == 2 ? TimeAmount(parsing: parts[1]) : .zero
            else {
                throw FaultSpecError(text, "latency takes a time, e.g. latency=200ms or latency=200ms~50ms")
            }
            self = .latency(delay: delay, jitter: jitter)
        case ("bandwidth", let value?):
            guard let rate = Int(value), rate > 0 else { throw FaultSpecError(text, "bandwidth takes bytes/s") }
            self = .bandwidth(bytesPerSecond: rate)
        case ("close-after", let value?):
            guard let bytes = Int(value), bytes >= 0 else { throw FaultSpecError(text, "close-after takes bytes") }
            self = .closeAfter(bytes: bytes)
        default:
            throw FaultSpecError(
                text, "unknown fault: use outage, reset, blackhole, latency=, bandwidth= or close-after=")
        }
    }
}

public struct FaultSpecError: Error, CustomStringConvertible {
    public let description: String

    init(_ text: String, _ reason: String) {
        description = "'\(text)': \(reason)"
    }
}
