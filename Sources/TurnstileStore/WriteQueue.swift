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
/// Its rules are ``WriteQueueStateMachine``'s; this class holds the machine under a lock, reads `QueueClock` for it
/// (the continuous clock in service; a manual one in tests, which move time rather than wait for it) and carries out
/// what it decides.
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
    private typealias StateMachine = WriteQueueStateMachine<Write, QueueClock.Instant, CheckedContinuation<Void, Never>>

    private let state: Mutex<StateMachine>
    private let committedBatches = Atomic<UInt64>(0)
    /// Every batch the writer loop carries out, with its size and whether it committed.
    public let activity = WriteActivity()
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
        state = Mutex(StateMachine(depthMax: depthMax, batchMax: batchMax, waitMax: waitMax, answerMax: answerMax))
        self.waitMax = waitMax
        self.answerMax = answerMax
        self.clock = clock
    }

    /// Queues a write, or refuses it at once (``TurnstileError/overloaded`` when too many wait, unavailable once
    /// closed) through its ``QueuedWrite/fail(_:)``. An accepted write is answered once its batch has committed.
    public func submit(_ write: Write) {
        // The time is read under the lock, so the queue's writes are in order of their times too.
        switch state.withLock({ $0.submit(write, at: clock.now) }) {
        case .refuse(let error): write.fail(error)
        case .queued(let writer): writer?.resume()
        }
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
                reap()
            }
        }
        defer { reaper.cancel() }
        while let batch = await nextBatch() {
            let answers: Result<[WriteAnswer], TurnstileError>
            do {
                let decided = try await execute(batch)
                precondition(decided.count == batch.count, "execute must answer every write of its batch")
                answers = .success(decided)
                // Counted before anyone is answered: see `TurnstileStore.commitSequence`.
                committedBatches.add(1, ordering: .sequentiallyConsistent)
                activity.report(writes: batch.count, committed: true)
            } catch {
                answers = .failure(error)
                activity.report(writes: batch.count, committed: false)
            }
            let unanswered = state.withLock { $0.finishBatch() }
            switch answers {
            case .success(let answers):
                for (write, answer) in zip(unanswered, answers) where write != nil { answer() }
            case .failure(let error):
                for write in unanswered { write?.fail(error) }
            }
        }
    }

    /// Refuses the writes that waited past ``waitMax`` (never carried out), and answers those of the batch in flight
    /// submitted more than ``answerMax`` ago: their commit may still land, so the detail says the outcome is unknown.
    private func reap() {
        let now = clock.now
        let (waited, stalled) = state.withLock { ($0.takeOverdueWaiting(at: now), $0.takeOverdueInFlight(at: now)) }
        let waitedDetail = "the store did not take the write within \(waitMax.secondsWithFraction) s"
        for write in waited { write.fail(.storeUnavailable(detail: waitedDetail)) }
        let stalledDetail =
            StoreDeadline.timedOut("write", answerMax)
            + "; whether it was carried out is unknown, so retry it with the same Idempotency-Key"
        for write in stalled { write.fail(.storeUnavailable(detail: stalledDetail)) }
    }

    /// Stops accepting writes. The writer loop carries out the writes already accepted, then `run` returns.
    public func close() {
        state.withLock { $0.close() }?.resume()
    }

    /// How many batches have committed; grows before any of a batch's callers is answered.
    public var commitSequence: UInt64 { committedBatches.load(ordering: .sequentiallyConsistent) }

    /// How many writes are waiting now (for metrics and tests).
    public var depth: Int { state.withLock { $0.pending.count } }

    /// Waits for at least one write, then takes a batch; nil once closed and drained.
    private func nextBatch() async -> [Write]? {
        while true {
            switch state.withLock({ $0.nextBatch() }) {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (wakeUp: CheckedContinuation<Void, Never>) in
                    if !state.withLock({ $0.parkWriter(wakeUp) }) { wakeUp.resume() }
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
