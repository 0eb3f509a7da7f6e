import NIOCore
import Synchronization
import TurnstileReport

/// A run's fault timeline as it happens: the instants at which faults began and ended, and the answers the running
/// phase has had (for faults that begin after a count of them).
///
/// The instants cut a phase's requests into segments by when each was sent: segment k holds the requests sent after
/// the k-th instant and before the next, so a fault that began at instant b and ended at instant e has its before,
/// during and after windows in segments b − 1, b ..< e and e. Every recorder made while a timeline is
/// ``current`` counts its requests into segments too.
public final class FaultMarks: Sendable {
    /// The timeline the recorders made in this task count segments for; nil (no segments) when the run has no
    /// faults.
    @TaskLocal static var current: FaultMarks?

    private struct State {
        var instants: [NIODeadline] = []
        var answers = 0
        var waiters: [Waiter] = []
        /// Whether the running phase is over: a waiter for answers that did not come is told so.
        var phaseOver = false
        /// What the running phase's recorders counted by segment, and when the first of them started.
        var segments = FaultSegments()
        var phaseStart: NIODeadline?
    }

    /// A fault waiting for a count of answers, and what starts it then.
    private typealias Waiter = (
        count: Int, continuation: CheckedContinuation<Bool, Never>, trigger: (@Sendable () -> Void)?
    )

    private let state = Mutex(State())

    public init() {}

    /// Adds the instant now to the timeline and returns its number (1 for the first): the segment that begins
    /// here.
    func mark() -> (number: Int, at: NIODeadline) {
        state.withLock { state in
            let now = NIODeadline.now()
            state.instants.append(now)
            return (state.instants.count, now)
        }
    }

    /// The instant numbered `number` (from ``mark()``).
    func instant(_ number: Int) -> NIODeadline? {
        state.withLock { state in number >= 1 && number <= state.instants.count ? state.instants[number - 1] : nil }
    }

    /// A phase begins: its answers count from zero.
    func phaseBegins() {
        state.withLock { state in
            state.answers = 0
            state.phaseOver = false
            state.segments = FaultSegments()
            state.phaseStart = nil
        }
    }

    /// Takes what a recorder set of the running phase counted (a ramp has one per stage).
    func collect(_ segments: FaultSegments, phaseStart: NIODeadline) {
        state.withLock { state in
            state.segments.add(segments)
            state.phaseStart = min(state.phaseStart ?? phaseStart, phaseStart)
        }
    }

    /// What the running phase's recorders counted, by segment, and when the phase started; nil before any recorder
    /// reported.
    func phaseSegments() -> (segments: FaultSegments, phaseStart: NIODeadline)? {
        state.withLock { state in state.phaseStart.map { (state.segments, $0) } }
    }

    /// The running phase is over: faults still waiting for answers will not begin.
    func phaseEnds() {
        let waiters = state.withLock { state in
            state.phaseOver = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: false) }
    }

    /// Counts one answer (or a request that ended without one) of the running phase, sent at `start` and ended at
    /// `end`, and returns the segments it spanned: how many instants came before each. Runs the triggers of the
    /// waiters whose count it makes, here and now, before waking them. One lock a request.
    func answered(sentAt start: NIODeadline, endedAt end: NIODeadline) -> FaultSegments.Span {
        let (span, due) = state.withLock { state -> (FaultSegments.Span, [Waiter]) in
            func segment(of instant: NIODeadline) -> Int {
                var (low, high) = (0, state.instants.count)
                while low < high {
                    let middle = (low + high) / 2
                    if state.instants[middle] <= instant { low = middle + 1 } else { high = middle }
                }
                return low
            }
            state.answers += 1
            let span = FaultSegments.Span(sent: segment(of: start), ended: segment(of: end))
            guard !state.waiters.isEmpty else { return (span, []) }
            let due = state.waiters.filter { $0.count <= state.answers }
            state.waiters.removeAll { $0.count <= state.answers }
            return (span, due)
        }
        for waiter in due {
            waiter.trigger?()
            waiter.continuation.resume(returning: true)
        }
        return span
    }

    /// Waits until the running phase has had `count` answers: true then (after `trigger` ran, on the thread that
    /// counted the answer), false when it ended first.
    func answers(_ count: Int, trigger: (@Sendable () -> Void)? = nil) async -> Bool {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool? in
                if state.answers >= count { return true }
                if state.phaseOver { return false }
                state.waiters.append((count, continuation, trigger))
                return nil
            }
            if now == true { trigger?() }
            if let now { continuation.resume(returning: now) }
        }
    }
}

/// A phase's requests counted by the segments of the fault timeline each spanned, from the one it was sent in to the
/// one it ended in (see ``FaultMarks``), endpoint by endpoint, with the first expected answer of each segment.
struct FaultSegments: Sendable {
    /// The segments a request was sent in and ended in.
    struct Span: Hashable, Sendable {
        let sent: Int
        let ended: Int
    }

    var endpoints: [Span: [String: FaultReport.Endpoint]] = [:]
    /// When the first answer the request expected arrived, by the segment it was sent in and its endpoint.
    var firstSuccess: [Int: [String: NIODeadline]] = [:]
    /// Every endpoint together by segment and by the second the request was sent in (whole seconds of the
    /// monotonic clock), for telling when a target recovered.
    var seconds: [Int: [Int64: FaultReport.Endpoint]] = [:]

    mutating func record(
        _ request: LoadRequest, span: Span, start: NIODeadline, end: NIODeadline, microseconds: UInt64,
        result: Result<LoadResponse, LoadError>, outcome: String? = nil
    ) {
        let segment = span.sent
        var expected = false
        if case .success(let response) = result, request.expected.contains(response.status) {
            expected = true
            firstSuccess[segment, default: [:]][request.endpoint] = min(
                firstSuccess[segment]?[request.endpoint] ?? end, end)
        }
        Self.count(
            result, expected: expected, microseconds: microseconds,
            into: &endpoints[span, default: [:]][
                request.endpoint, default: FaultReport.Endpoint(name: request.endpoint)])
        if let outcome { endpoints[span]![request.endpoint]!.outcomes[outcome, default: 0] += 1 }
        Self.count(
            result, expected: expected, microseconds: microseconds,
            into: &seconds[segment, default: [:]][Self.second(of: start), default: FaultReport.Endpoint(name: "all")])
    }

    private static func count(
        _ result: Result<LoadResponse, LoadError>, expected: Bool, microseconds: UInt64,
        into counts: inout FaultReport.Endpoint
    ) {
        counts.requests += 1
        counts.longestMicroseconds = max(counts.longestMicroseconds, microseconds)
        switch result {
        case .success(let response):
            counts.statuses[String(response.status), default: 0] += 1
            counts.latency.record(microseconds: microseconds)
            if !expected { counts.failures += 1 }
        case .failure(let error):
            counts.failures += 1
            counts.errors[error.kind.rawValue, default: 0] += 1
        }
    }

    /// The whole second of the monotonic clock `instant` falls in.
    static func second(of instant: NIODeadline) -> Int64 {
        Int64(instant.uptimeNanoseconds / 1_000_000_000)
    }

    mutating func add(_ other: FaultSegments) {
        for (span, named) in other.endpoints {
            for (name, counts) in named {
                endpoints[span, default: [:]][name, default: FaultReport.Endpoint(name: name)].add(counts)
            }
        }
        for (segment, named) in other.firstSuccess {
            firstSuccess[segment, default: [:]].merge(named) { min($0, $1) }
        }
        for (segment, bySecond) in other.seconds {
            for (second, counts) in bySecond {
                seconds[segment, default: [:]][second, default: FaultReport.Endpoint(name: "all")].add(counts)
            }
        }
    }

    /// The first expected answer to each endpoint's requests sent in the segments `sent` holds.
    func firstSuccess(sentIn sent: (Int) -> Bool) -> [String: NIODeadline] {
        var first: [String: NIODeadline] = [:]
        for (segment, named) in firstSuccess where sent(segment) { first.merge(named) { min($0, $1) } }
        return first
    }

    /// Every endpoint's counts over the requests whose span is `included`.
    func endpoints(where included: (Span) -> Bool) -> [FaultReport.Endpoint] {
        var merged: [String: FaultReport.Endpoint] = [:]
        for (span, named) in endpoints where included(span) {
            for (name, counts) in named {
                merged[name, default: FaultReport.Endpoint(name: name)].add(counts)
            }
        }
        return Array(merged.values)
    }
}
