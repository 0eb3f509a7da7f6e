import Synchronization
import Testing
import TurnstileCore

@testable import TurnstileStore

/// A value shared between test tasks.
private final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

/// A number written through the queue; the test's writer decides what it is answered with.
struct Number: QueuedWrite {
    let value: Int
    let caller: CheckedContinuation<Result<Int, TurnstileError>, Never>

    func fail(_ error: TurnstileError) { caller.resume(returning: .failure(error)) }
}

extension WriteQueue where Write == Number {
    func submit(_ value: Int) async throws(TurnstileError) -> Int {
        try await withCheckedContinuation { submit(Number(value: value, caller: $0)) }.get()
    }

    /// Runs the writer loop, answering each batch's numbers with what `decide` makes of them.
    func runNumbers(_ decide: @escaping ([Int]) async throws(TurnstileError) -> [Int]) async {
        await run { (batch: [Number]) throws(TurnstileError) -> [WriteAnswer] in
            let outputs = try await decide(batch.map(\.value))
            return zip(batch, outputs).map { number, output in { number.caller.resume(returning: .success(output)) } }
        }
    }
}

/// Bounds far beyond any test's length, for the tests of batching: a loaded machine must never make the reaper
/// answer a write those tests expect to see committed.
private let patient = (waitMax: Duration.seconds(600), answerMax: Duration.seconds(1_200))

/// Waits, yielding, until `condition` holds: synchronises on observable state, never on time.
private func waitUntil(_ condition: () -> Bool) async {
    while !condition() { await Task.yield() }
}

/// The queue as the stores run it: real tasks, answers through continuations. Its rules alone are
/// ``WriteQueueStateMachineTests``'.
@Suite("WriteQueue", .timeLimit(.minutes(1)))
struct WriteQueueTests {
    @Test("writes queued while a batch commits form the next batch, answered in order")
    func groupCommit() async throws {
        let queue = WriteQueue<Number, ContinuousClock>(waitMax: patient.waitMax, answerMax: patient.answerMax)
        let batchSizes = Shared<[Int]>([])
        let firstBatchStarted = Gate()
        let releaseFirstBatch = Gate()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await queue.runNumbers { batch in
                    let isFirst = batchSizes.withLock { sizes in
                        sizes.append(batch.count)
                        return sizes.count == 1
                    }
                    if isFirst {
                        firstBatchStarted.open()
                        await releaseFirstBatch.wait()
                    }
                    return batch.map { $0 * 10 }
                }
            }
            group.addTask {
                let answer = try await queue.submit(0)
                #expect(answer == 0)
            }
            await firstBatchStarted.wait()
            for value in 1...50 {
                group.addTask {
                    let answer = try await queue.submit(value)
                    #expect(answer == value * 10)
                }
            }
            await waitUntil { queue.depth == 50 }
            releaseFirstBatch.open()
            // Wait for the 51 submitters, then stop the writer.
            for _ in 0..<51 { try await group.next() }
            queue.close()
            try await group.waitForAll()
        }
        #expect(batchSizes.withLock { $0 } == [1, 50])
    }

    @Test("close drains what was accepted, then refuses new writes")
    func closeDrains() async throws {
        let queue = WriteQueue<Number, ContinuousClock>(waitMax: patient.waitMax, answerMax: patient.answerMax)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 1...5 { group.addTask { try await queue.submit(value) } }
            await waitUntil { queue.depth == 5 }
            queue.close()
            await queue.runNumbers { $0 }
            var answered = 0
            for try await _ in group { answered += 1 }
            #expect(answered == 5)
        }
        await #expect(throws: TurnstileError.storeUnavailable(detail: "the service is shutting down")) {
            try await queue.submit(6)
        }
    }

    @Test("a batch that fails fails every write in it, and the next batch still runs")
    func failingBatch() async throws {
        let queue = WriteQueue<Number, ContinuousClock>(waitMax: patient.waitMax, answerMax: patient.answerMax)
        let failure = TurnstileError.storeUnavailable(detail: "disk on fire")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for value in 0..<3 {
                group.addTask { await #expect(throws: failure) { try await queue.submit(value) } }
            }
            await waitUntil { queue.depth == 3 }
            group.addTask {
                await queue.runNumbers { batch throws(TurnstileError) in
                    if batch.contains(0) { throw failure }
                    return batch
                }
            }
            for _ in 0..<3 { try await group.next() }
            #expect(try await queue.submit(7) == 7)
            queue.close()
            try await group.waitForAll()
        }
    }
}

extension WriteQueueTests {
    @Test("a stalled writer: writes waiting to be taken are refused in bounded time; the one in its batch is not")
    func stalledWriterRefusesWaitingWrites() async throws {
        let clock = ManualClock()
        let queue = WriteQueue<Number, ManualClock>(waitMax: .seconds(1), answerMax: .seconds(2), clock: clock)
        let firstBatchStarted = Gate()
        let releaseWriter = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await queue.runNumbers { batch in
                    firstBatchStarted.open()
                    await releaseWriter.wait()
                    return batch
                }
            }
            group.addTask {
                // Taken into the first batch before the stall: it waits for its commit and succeeds.
                let answer = try await queue.submit(1)
                #expect(answer == 1)
            }
            await firstBatchStarted.wait()
            // Queued behind the stalled batch: refused once it has waited 1 s, while the writer is still stuck.
            let second = Task { () -> Result<Int, TurnstileError> in
                do throws(TurnstileError) { return .success(try await queue.submit(2)) } catch {
                    return .failure(error)
                }
            }
            await waitUntil { queue.depth == 1 && clock.sleeperCount == 1 }
            // The reaper looks every sixteenth of the wait: at 0.999 s the write is not overdue, at the next look it is.
            clock.advance(by: .milliseconds(999))
            await waitUntil { clock.sleeperCount == 1 }
            #expect(queue.depth == 1, "not refused before its second is up")
            clock.advance(by: .milliseconds(63))
            let refusal = TurnstileError.storeUnavailable(detail: "the store did not take the write within 1.0 s")
            #expect(await second.value == .failure(refusal))
            releaseWriter.open()
            queue.close()
            try await group.waitForAll()
        }
    }
}

extension WriteQueueTests {
    @Test("a write whose batch outlives answerMax is answered 503, outcome unknown, and the writer goes on")
    func overdueBatchIsAnsweredAndWriterContinues() async throws {
        let clock = ManualClock()
        let queue = WriteQueue<Number, ManualClock>(
            waitMax: .seconds(1), answerMax: .milliseconds(1_100), clock: clock)
        let batchStarted = Gate()
        let releaseWriter = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await queue.runNumbers { batch in
                    if batch == [1] {
                        batchStarted.open()
                        await releaseWriter.wait()
                    }
                    return batch
                }
            }
            let first = Task { () -> Result<Int, TurnstileError> in
                do throws(TurnstileError) { return .success(try await queue.submit(1)) } catch {
                    return .failure(error)
                }
            }
            await batchStarted.wait()
            await waitUntil { clock.sleeperCount == 1 }
            clock.advance(by: .milliseconds(1_101))
            let answer = await first.value
            // Every path below releases the writer and closes the queue, so that no outcome can hang the test.
            releaseWriter.open()
            if case .failure(.storeUnavailable(let detail)) = answer {
                // "Unknown" only for a write that was taken into a batch: one refused in the queue never ran.
                #expect(detail.contains("unknown") && detail.contains("Idempotency-Key"), "\(detail)")
            } else {
                Issue.record("expected store_unavailable, got \(answer)")
            }
            // The stalled batch ends later; its result goes to nobody, and the next write is served normally.
            let next: Result<Int, TurnstileError>
            do throws(TurnstileError) { next = .success(try await queue.submit(2)) } catch { next = .failure(error) }
            #expect(next == .success(2))
            queue.close()
            try await group.waitForAll()
        }
    }
}
