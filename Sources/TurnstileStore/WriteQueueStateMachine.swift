import TurnstileCore

/// Every decision of a ``WriteQueue``, without locks, tasks or clocks: the queue feeds it the time and carries out
/// what it answers (resuming callers and the writer), so each rule is tested by feeding it instants.
///
/// - Writes wait in arrival order, at most `depthMax` of them; the writer takes up to `batchMax` at once.
/// - A write still waiting after `waitMax` is refused (it was never carried out); one whose batch has not committed
///   `answerMax` after it was submitted is answered by the reaper (outcome unknown), and its slot in the batch is
///   emptied, so that the writer, finishing later, answers only the others. Every write is answered exactly once.
struct WriteQueueStateMachine<Write, Instant: InstantProtocol, WakeUp> {
    struct Pending {
        let write: Write
        let queuedAt: Instant
    }

    /// What ``submit(_:at:)`` decided.
    enum Submission {
        /// Refuse the write with this error; it was not queued.
        case refuse(TurnstileError)
        /// Queued; resume the waiting writer, if there is one.
        case queued(wakeWriter: WakeUp?)
    }

    /// What the writer does next.
    enum WriterStep {
        case batch([Write])
        /// Wait for writes: pass a wake-up to ``parkWriter(_:)``.
        case wait
        /// Closed and drained: the writer loop ends.
        case finished
    }

    let depthMax: Int
    let batchMax: Int
    let waitMax: Instant.Duration
    let answerMax: Instant.Duration

    private(set) var pending: [Pending] = []
    /// The batch the writer is carrying out, in order; a write answered already by the reaper is nil.
    private var inFlight: [Pending?] = []
    private var parkedWriter: WakeUp?
    private(set) var isClosed = false

    init(depthMax: Int, batchMax: Int, waitMax: Instant.Duration, answerMax: Instant.Duration) {
        precondition(
            depthMax > 0 && batchMax > 0 && waitMax > .zero && answerMax > waitMax,
            "queue limits must be positive, and a write's answer must be due after its wait for the writer")
        self.depthMax = depthMax
        self.batchMax = batchMax
        self.waitMax = waitMax
        self.answerMax = answerMax
    }

    mutating func submit(_ write: Write, at now: Instant) -> Submission {
        if isClosed { return .refuse(.storeUnavailable(detail: "the service is shutting down")) }
        if pending.count >= depthMax { return .refuse(.overloaded) }
        pending.append(Pending(write: write, queuedAt: now))
        defer { parkedWriter = nil }
        return .queued(wakeWriter: parkedWriter)
    }

    /// Takes the next batch (up to `batchMax` writes, in arrival order) into flight.
    mutating func nextBatch() -> WriterStep {
        if pending.isEmpty { return isClosed ? .finished : .wait }
        let taken = pending.prefix(batchMax)
        pending.removeFirst(taken.count)
        inFlight = taken.map { $0 }
        return .batch(taken.map(\.write))
    }

    /// Parks the writer until a write arrives or the queue closes; false when it should not wait (resume it now).
    mutating func parkWriter(_ wakeUp: WakeUp) -> Bool {
        if !pending.isEmpty || isClosed { return false }
        parkedWriter = wakeUp
        return true
    }

    /// Ends the batch in flight: the writes still to be answered by the writer, in order (nil for those the reaper
    /// answered).
    mutating func finishBatch() -> [Write?] {
        defer { inFlight = [] }
        return inFlight.map { $0?.write }
    }

    /// The waiting writes submitted more than `waitMax` before `now`, taken out of the queue to be refused.
    mutating func takeOverdueWaiting(at now: Instant) -> [Write] {
        let deadline = now.advanced(by: .zero - waitMax)
        let count = pending.prefix { $0.queuedAt < deadline }.count
        defer { pending.removeFirst(count) }
        return pending.prefix(count).map(\.write)
    }

    /// The writes in flight submitted more than `answerMax` before `now`, to be answered as unknown; their slots
    /// are emptied.
    mutating func takeOverdueInFlight(at now: Instant) -> [Write] {
        let deadline = now.advanced(by: .zero - answerMax)
        var overdue: [Write] = []
        for index in inFlight.indices {
            guard let pending = inFlight[index], pending.queuedAt < deadline else { continue }
            overdue.append(pending.write)
            inFlight[index] = nil
        }
        return overdue
    }

    /// Stops accepting writes; resume the parked writer, if any, so that it drains the queue and ends.
    mutating func close() -> WakeUp? {
        isClosed = true
        defer { parkedWriter = nil }
        return parkedWriter
    }
}
