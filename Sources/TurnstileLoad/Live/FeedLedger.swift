import NIOCore
import Synchronization
import TurnstileReport

/// The events a scenario's requests caused, by key: each request with `publishes` records, as its answer is recorded,
/// when it was sent, when it was answered, and whether the target accepted it (answered a status it expected). The
/// subscribers' receipts are judged against it once the run stops watching.
///
/// Reached as ``current`` (a task-local), as the fault timeline is: the recorders pick it up where they are made.
final class FeedLedger: Sendable {
    @TaskLocal static var current: FeedLedger?

    struct Event: Sendable {
        let sentAt: NIODeadline
        let answeredAt: NIODeadline
        let accepted: Bool
    }

    private let events = Mutex<[ScenarioValue: Event]>([:])

    /// The key as events are compared: a whole number and the same decimal are one key (`5` and `5.0`).
    static func key(_ value: ScenarioValue) -> ScenarioValue {
        if case .int(let number) = value { return .double(Double(number)) }
        return value
    }

    /// Records one publishing request's answer (or its failure). A key published twice keeps its first accepted
    /// sending: keys must tell events apart.
    func record(_ key: ScenarioValue, sentAt: NIODeadline, answeredAt: NIODeadline, accepted: Bool) {
        let key = Self.key(key)
        events.withLock { events in
            if let known = events[key], known.accepted { return }
            events[key] = Event(sentAt: sentAt, answeredAt: answeredAt, accepted: accepted)
        }
    }

    /// Records what `request`, which publishes `publication`, did: an event it names when it is sent is recorded
    /// whatever came back (accepted or not); one its answer names, only when the answer is one it expects.
    func record(
        _ publication: Publication, of request: LoadRequest, result: Result<LoadResponse, LoadError>,
        sentAt: NIODeadline, answeredAt: NIODeadline
    ) {
        let answer = try? result.get()
        let accepted = answer.map { request.expected.contains($0.status) } ?? false
        switch publication {
        case .key(let key):
            record(key, sentAt: sentAt, answeredAt: answeredAt, accepted: accepted)
        case .fromAnswer(let expression):
            guard accepted, let answer, let body = ScenarioValue(jsonBytes: answer.body.readableBytesView),
                let key = try? expression.evaluate(in: AnswerScope(body: body)), key != .null
            else { return }
            record(key, sentAt: sentAt, answeredAt: answeredAt, accepted: true)
        }
    }

    var snapshot: [ScenarioValue: Event] { events.withLock { $0 } }

    var acceptedCount: Int { events.withLock { $0.values.count(where: \.accepted) } }
}

/// What one group of subscribers received, gathered without a lock on the delivery path: each subscriber keeps its
/// own receipts on its connection's event loop, and one atomic counter of keyed messages says when everything may
/// have arrived.
final class FeedTally: Sendable {
    /// One subscriber's receipts. Unchecked: only ever touched on its connection's event loop (by the connection's
    /// handler, and by ``report(_:ledger:into:)`` through that loop).
    final class Receipts: @unchecked Sendable {
        fileprivate var keys: [ScenarioValue] = []
        fileprivate var instants: [NIODeadline] = []
        fileprivate var ignored = 0
        fileprivate var unkept = 0
        fileprivate var closed = false
    }

    private struct Waiting {
        var target = Int.max
        var finishing = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// Reads a message's key: nil for a message that is not an event.
    private let key: @Sendable (ByteBuffer) -> ScenarioValue?
    private let keyed = Atomic<Int>(0)
    private let waiting = Mutex(Waiting())
    /// The most keyed messages kept for judging.
    private let keptMax: Int

    init(keptMax: Int = LoadLimits.feedReceiptsMax, key: @escaping @Sendable (ByteBuffer) -> ScenarioValue?) {
        self.keptMax = keptMax
        self.key = key
    }

    /// Records one event of the subscriber whose receipts are `receipts`; on its connection's event loop.
    func record(_ event: LiveFeedEvent, into receipts: Receipts) {
        switch event {
        case .message(let message, let receivedAt):
            guard let key = key(message) else {
                receipts.ignored += 1
                return
            }
            let count = keyed.add(1, ordering: .relaxed).newValue
            // A feed that floods (a hostile or broken one) cannot take the engine's memory: past the bound, a message
            // is counted, not kept, and the report says how many were not.
            if count <= keptMax {
                receipts.keys.append(FeedLedger.key(key))
                receipts.instants.append(receivedAt)
            } else {
                receipts.unkept += 1
            }
            let waiter = waiting.withLock { state -> CheckedContinuation<Void, Never>? in
                guard count >= state.target else { return nil }
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        case .closed:
            receipts.closed = waiting.withLock { !$0.finishing }
        }
    }

    /// Waits until `expected` keyed messages have arrived, or `grace` has passed; returns whether they all did.
    func waitFor(_ expected: Int, orFor grace: TimeAmount) async -> Bool {
        await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.waiting.withLock { state in
                        state.target = expected
                        guard self.keyed.load(ordering: .relaxed) < expected, !state.finishing else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                return self.keyed.load(ordering: .relaxed) >= expected
            }
            tasks.addTask {
                try? await Task.sleep(for: .nanoseconds(grace.nanoseconds))
                return false
            }
            let first = await tasks.next() ?? false
            // Whichever came first, nothing more is awaited: release a waiter still parked.
            let parked = waiting.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            parked?.resume()
            tasks.cancelAll()
            return first
        }
    }

    /// From here on a closed connection is the run's own doing, not a drop.
    func finish() {
        waiting.withLock { $0.finishing = true }
    }

    /// Every subscriber's receipts, read on their event loops, judged against the ledger's events into `report`.
    func report(
        _ subscribers: [(receipts: Receipts, eventLoop: any EventLoop)], ledger: FeedLedger,
        into report: inout FeedReport
    ) async {
        let events = ledger.snapshot
        report.events = events.values.count(where: \.accepted)
        report.expected = report.events * subscribers.count
        for (receipts, eventLoop) in subscribers {
            guard
                let (keys, instants, ignored, unkept, closed) = try? await eventLoop.submit({
                    (receipts.keys, receipts.instants, receipts.ignored, receipts.unkept, receipts.closed)
                }).get()
            else { continue }
            report.ignored += ignored
            report.unkept += unkept
            report.dropped += closed ? 1 : 0
            var seen = Set<ScenarioValue>()
            // The latest sending among the events received so far: an event answered before it was received after.
            var latestSent: NIODeadline?
            for (key, instant) in zip(keys, instants) {
                guard let event = events[key] else {
                    report.stray += 1
                    continue
                }
                guard event.accepted, seen.insert(key).inserted else { continue }
                report.delivered += 1
                report.latency.record(microseconds: UInt64(max(0, (instant - event.sentAt).nanoseconds / 1_000)))
                if let latest = latestSent, latest > event.answeredAt { report.outOfOrder += 1 }
                latestSent = max(latestSent ?? event.sentAt, event.sentAt)
            }
        }
    }
}
