import Synchronization
import TurnstileCore

/// A write as a ``WriteQueue`` holds it: with its caller, whom the queue answers exactly once.
public protocol QueuedWrite: Sendable {
    /// Answers the caller with the error that stopped the write: refused, overdue, or its batch failed.
    func fail(_ error: TurnstileError)
}

/// Answers one write's caller with what its batch decided for it; called once the batch committed.
public typealias WriteAnswer = @Sendable () -> Void

/// Group commit: callers submit writes from any task; one writer loop takes everything waiting (up to a batch
/// limit, in arrival order), carries the batch out in one transaction, and answers each caller only after it
/// committed.
///
/// While a batch commits, new writes queue up, so batches grow with load by themselves: one write per transaction
/// when idle, hundreds under a stampede. The queue is bounded: past `depthMax` waiting writes, `submit` refuses at once
/// with ``TurnstileError/overloaded`` rather than letting memory and latency grow without bound.
///
/// Its deadlines are kept on `QueueClock` (the continuous clock in service; a manual one in tests, which move time
/// rather than wait for it).
///
/// Each write carries its caller: the queue answers it exactly once, with the answer its batch decided (after the
/// commit) or with the error that stopped it (refused, overdue, or its batch failed).
///
/// ```swift
/// let queue = WriteQueue<PendingWrite, ContinuousClock>()
/// async let writer: Void = queue.run { batch in try await store.commit(batch) }
/// let outcome = try await queue.submit(Book(request))
/// queue.close()  // the writer drains what was accepted, then returns
/// ```
public final class WriteQueue<Write: QueuedWrite, QueueClock: Clock>: Sendable
where QueueClock.Duration == Duration {
    private struct Pending {
        let write: Write
        let queuedAt: QueueClock.Instant
    }

    private enum Step {
        case batch([Pending])
        case finished
        case wait
    }

    private struct State {
        var pending: [Pending] = []
        var writerWakeUp: CheckedContinuation<Void, Never>?
        var isClosed = false
        /// The batch the writer is carrying out, in order; a write the reaper has answered already (it was submitted
        /// longer than ``answerMax`` ago) is nil, and the writer answers the rest.
        var inFlight: [Pending?] = []
    }

    private let state = Mutex(State())
    private let committedBatches = Atomic<UInt64>(0)
    /// Every batch the writer loop carries out, with its size and whether it committed.
    public let activity = WriteActivity()
    private let depthMax: Int
    private let batchMax: Int
    private let waitMax: Duration
    private let answerMax: Duration
    private let clock: QueueClock

    /// Creates a queue.
    /// - Parameters:
    ///   - depthMax: the most writes that may wait; further writes are refused with `overloaded`.
    ///   - batchMax: the most writes carried out in one batch.
    ///   - waitMax: the longest a write may wait to be taken into a batch before it is refused as unavailable.
    ///   - answerMax: the longest from submitting a write to its answer; a write taken into a batch that has not
    ///     committed by then is answered as unavailable, outcome unknown.
    ///   - clock: the clock those bounds are kept on.
    public init(
        depthMax: Int = Limits.writeQueueDepthMax, batchMax: Int = Limits.writeBatchCommandsMax,
        waitMax: Duration = .milliseconds(Limits.writeQueueWaitMilliseconds),
        answerMax: Duration = .milliseconds(Limits.writeAnswerTimeoutMilliseconds), clock: QueueClock
    ) {
        precondition(
            depthMax > 0 && batchMax > 0 && waitMax > .zero && answerMax > waitMax,
            "queue limits must be positive, and a write's answer must be due after its wait for the writer")
        self.depthMax = depthMax
        self.batchMax = batchMax
        self.waitMax = waitMax
        self.answerMax = answerMax
        self.clock = clock
    }

    /// Queues a write, or refuses it at once (``TurnstileError/overloaded`` when too many wait, unavailable once
    /// closed) through its ``QueuedWrite/fail(_:)``. An accepted write is answered once its batch has committed.
    public func submit(_ write: Write) {
        let outcome = state.withLock {
            state -> (refusal: TurnstileError?, wakeUp: CheckedContinuation<Void, Never>?) in
            if state.isClosed { return (.storeUnavailable(detail: "the service is shutting down"), nil) }
            if state.pending.count >= depthMax { return (.overloaded, nil) }
            state.pending.append(Pending(write: write, queuedAt: clock.now))
            defer { state.writerWakeUp = nil }
            return (nil, state.writerWakeUp)
        }
        if let refusal = outcome.refusal {
            write.fail(refusal)
        }
        outcome.wakeUp?.resume()
    }

    /// Runs the writer loop: takes batches in arrival order and hands each to `execute`, which must return one answer
    /// per write, in order, after the batch committed. If `execute` throws, every write of that batch fails with
    /// its error. Returns once the queue is closed and everything accepted has been carried out.
    public func run(_ execute: ([Write]) async throws(TurnstileError) -> [WriteAnswer]) async {
        // Beside the writer, a reaper answers writes that waited too long to be taken, or whose batch takes too long
        // to commit: if the writer stalls (a database that is down, a disk that hangs), callers get a fast 503
        // instead of hanging with it. It runs on Swift's shared pool even when the writer prefers a thread of its
        // own, which a stalled statement would hold.
        let reaper = Task(executorPreference: globalConcurrentExecutor) { [self] in
            while !Task.isCancelled {
                do { try await clock.sleep(for: waitMax / 16) } catch { return }
                refuseOverdue()
                answerOverdueBatch()
            }
        }
        defer { reaper.cancel() }
        while let batch = await nextBatch() {
            state.withLock { $0.inFlight = batch }
            let answers: Result<[WriteAnswer], TurnstileError>
            do {
                let decided = try await execute(batch.map(\.write))
                precondition(decided.count == batch.count, "execute must answer every write of its batch")
                answers = .success(decided)
                // Counted before anyone is answered: see `TurnstileStore.commitSequence`.
                committedBatches.add(1, ordering: .sequentiallyConsistent)
                activity.report(writes: batch.count, committed: true)
            } catch {
                answers = .failure(error)
                activity.report(writes: batch.count, committed: false)
            }
            // Those the reaper answered already are nil.
            let answering = state.withLock { state in
                defer { state.inFlight = [] }
                return state.inFlight
            }
            switch answers {
            case .success(let answers):
                for (pending, answer) in zip(answering, answers) where pending != nil { answer() }
            case .failure(let error):
                for pending in answering { pending?.write.fail(error) }
            }
        }
    }

    /// Answers each write of the batch in flight that was submitted longer than ``answerMax`` ago with
    /// `storeUnavailable`. Its commit may still land, so the detail says the outcome is unknown; the writer answers
    /// the batch's other writes when it finishes.
    private func answerOverdueBatch() {
        let deadline = clock.now.advanced(by: .zero - answerMax)
        let overdue = state.withLock { state -> [Pending] in
            var overdue: [Pending] = []
            for index in state.inFlight.indices {
                guard let pending = state.inFlight[index], pending.queuedAt < deadline else { continue }
                overdue.append(pending)
                state.inFlight[index] = nil
            }
            return overdue
        }
        let detail =
            StoreDeadline.timedOut("write", answerMax)
            + "; whether it was carried out is unknown, so retry it with the same Idempotency-Key"
        for pending in overdue {
            pending.write.fail(.storeUnavailable(detail: detail))
        }
    }

    /// Refuses, with `storeUnavailable`, every write still waiting after ``waitMax``. They were never taken into a
    /// batch, so none of them was carried out.
    private func refuseOverdue() {
        let deadline = clock.now.advanced(by: .zero - waitMax)
        let overdue = state.withLock { state -> [Pending] in
            guard let first = state.pending.first, first.queuedAt < deadline else { return [] }
            let count = state.pending.prefix { $0.queuedAt < deadline }.count
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        let seconds = waitMax.secondsWithFraction
        for pending in overdue {
            pending.write.fail(.storeUnavailable(detail: "the store did not take the write within \(seconds) s"))
        }
    }

    /// Stops accepting writes. The writer loop carries out the writes already accepted, then `run` returns.
    public func close() {
        let wakeUp = state.withLock { state in
            state.isClosed = true
            defer { state.writerWakeUp = nil }
            return state.writerWakeUp
        }
        wakeUp?.resume()
    }

    /// How many batches have committed; grows before any of a batch's callers is answered.
    public var commitSequence: UInt64 { committedBatches.load(ordering: .sequentiallyConsistent) }

    /// How many writes are waiting now (for metrics and tests).
    public var depth: Int { state.withLock { $0.pending.count } }

    /// Waits for at least one write, then takes up to `batchMax` of them; nil once closed and drained.
    private func nextBatch() async -> [Pending]? {
        while true {
            let step = state.withLock { state -> Step in
                if !state.pending.isEmpty {
                    if state.pending.count <= batchMax {
                        defer { state.pending = [] }
                        return .batch(state.pending)
                    }
                    defer { state.pending.removeFirst(batchMax) }
                    return .batch(Array(state.pending.prefix(batchMax)))
                }
                return state.isClosed ? .finished : .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (wakeUp: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.pending.isEmpty || state.isClosed { return true }
                        state.writerWakeUp = wakeUp
                        return false
                    }
                    if resumeNow { wakeUp.resume() }
                }
            }
        }
    }
}

extension WriteQueue where QueueClock == ContinuousClock {
    /// A queue whose bounds are kept on the continuous clock: the service's.
    public convenience init(
        depthMax: Int = Limits.writeQueueDepthMax, batchMax: Int = Limits.writeBatchCommandsMax,
        waitMax: Duration = .milliseconds(Limits.writeQueueWaitMilliseconds),
        answerMax: Duration = .milliseconds(Limits.writeAnswerTimeoutMilliseconds)
    ) {
        self.init(
            depthMax: depthMax, batchMax: batchMax, waitMax: waitMax, answerMax: answerMax, clock: ContinuousClock())
    }
}
