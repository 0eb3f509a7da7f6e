/// What one group of a scenario's live-feed subscribers received: every subscriber should get every event the
/// scenario caused (each request with `publishes` that was answered as expected), soon after the request was sent,
/// in an order consistent with when the events happened, and nothing the scenario did not cause.
public struct FeedReport: Codable, Sendable, Equatable {
    public var name: String
    /// `websocket` or `sse`.
    public var kind: String
    /// Subscribers asked for, and those that connected.
    public var subscribers: Int
    public var connected = 0
    /// Subscribers whose connection ended before the run stopped watching.
    public var dropped = 0
    /// Events the scenario caused and the target accepted.
    public var events = 0
    /// Connected subscribers × events: what a perfect feed delivers.
    public var expected = 0
    /// Distinct events received, summed over the subscribers.
    public var delivered = 0
    /// Receipts of an event after an event that happened after it: received B, then A, though A's request was
    /// answered before B's was sent.
    public var outOfOrder = 0
    /// Messages with a key no request of the scenario published.
    public var stray = 0
    /// Messages that gave no key (a greeting, a heartbeat, not JSON): not events, not counted against the feed.
    public var ignored = 0
    /// Keyed messages past the most the engine keeps (a flooding feed): counted, not judged.
    public var unkept: Int = 0
    /// From sending each event's request to each subscriber's receipt of it.
    public var latency = LatencyHistogram()
    /// How long each subscriber took to connect (and, for WebSocket, upgrade).
    public var connectLatency = LatencyHistogram(precision: .coarse)
    /// Whether the run stopped waiting for deliveries at its grace period rather than with everything in.
    public var gaveUpWaiting = false

    public init(name: String, kind: String, subscribers: Int) {
        self.name = name
        self.kind = kind
        self.subscribers = subscribers
    }

    /// Delivered of expected, 0…1; nil when nothing was expected.
    public var deliveryRatio: Double? { expected == 0 ? nil : Double(delivered) / Double(expected) }

    /// One line for the report's notes.
    public var note: String {
        func percentiles(_ histogram: LatencyHistogram) -> String {
            histogram.isEmpty
                ? "not measured"
                : [50.0, 95, 99].map { "p\(Int($0)) \(Format.microseconds(histogram.percentile($0)))" }
                    .joined(separator: ", ")
        }
        var line =
            "feed \(name) (\(kind)): \(connected) of \(subscribers) subscribers connected, \(events) events; delivered "
            + "\(delivered) of \(expected)"
        if let ratio = deliveryRatio { line += " (\(Format.percent(ratio * 100)))" }
        line += "; after the request was sent \(percentiles(latency)); connect \(percentiles(connectLatency))"
        line += "; out of order \(outOfOrder), stray \(stray), dropped \(dropped)"
        if unkept > 0 { line += "; \(unkept) messages past the most the engine keeps were counted, not judged" }
        if gaveUpWaiting { line += "; stopped waiting for deliveries at the grace period" }
        return line
    }
}
