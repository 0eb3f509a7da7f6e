import Testing
import TurnstileCore

@testable import TurnstileStore

/// The queue's rules, fed instants: nothing here waits, sleeps or runs a task.
@Suite("WriteQueue state machine")
struct WriteQueueStateMachineTests {
    /// Writes are numbers, the writer's wake-up a name.
    private typealias Machine = WriteQueueStateMachine<Int, ManualClock.Instant, String>

    private func machine(depthMax: Int = 100, batchMax: Int = 100) -> Machine {
        Machine(depthMax: depthMax, batchMax: batchMax, waitMax: .seconds(1), answerMax: .seconds(2))
    }

    private func at(milliseconds: Int64) -> ManualClock.Instant {
        ManualClock.Instant(offset: .milliseconds(milliseconds))
    }

    private func submit(_ values: some Sequence<Int>, to machine: inout Machine, atMilliseconds time: Int64 = 0) {
        for value in values {
            guard case .queued = machine.submit(value, at: at(milliseconds: time)) else {
                Issue.record("write \(value) was refused")
                return
            }
        }
    }

    private func batch(_ step: Machine.WriterStep) -> [Int]? {
        if case .batch(let writes) = step { writes } else { nil }
    }

    @Test("writes that arrive while a batch is in flight form the next batch, in arrival order")
    func groupCommit() {
        var queue = machine()
        submit([0], to: &queue)
        let first = batch(queue.nextBatch())
        submit(1...50, to: &queue)
        let unanswered = queue.finishBatch()
        let second = batch(queue.nextBatch())
        #expect(first == [0] && unanswered == [0])
        #expect(second == Array(1...50))
    }

    @Test("a batch never exceeds the batch limit")
    func batchLimit() {
        var queue = machine(batchMax: 8)
        submit(0..<20, to: &queue)
        var sizes: [Int] = []
        while let writes = batch(queue.nextBatch()) {
            sizes.append(writes.count)
            _ = queue.finishBatch()
        }
        #expect(sizes == [8, 8, 4])
    }

    @Test("past depthMax waiting writes, a write is refused with overloaded")
    func overloaded() {
        var queue = machine(depthMax: 2)
        submit(0..<2, to: &queue)
        guard case .refuse(let error) = queue.submit(99, at: at(milliseconds: 0)) else {
            Issue.record("a third write was queued")
            return
        }
        #expect(error == .overloaded)
        #expect(queue.pending.count == 2)
    }

    @Test("the writer parks only while nothing waits, and the next write or the close wakes it")
    func parking() {
        var queue = machine()
        guard case .wait = queue.nextBatch() else {
            Issue.record("an empty queue gave the writer something to do")
            return
        }
        let parkedWhenIdle = queue.parkWriter("writer")
        guard case .queued(let wokenByWrite) = queue.submit(1, at: at(milliseconds: 0)) else {
            Issue.record("the write was refused")
            return
        }
        let parkedWithWriteWaiting = queue.parkWriter("again")
        #expect(parkedWhenIdle && wokenByWrite == "writer")
        #expect(!parkedWithWriteWaiting, "a write waits, so the writer must not park")

        let taken = batch(queue.nextBatch())
        _ = queue.finishBatch()
        let parkedAgain = queue.parkWriter("writer")
        let wokenByClose = queue.close()
        let wokenTwice = queue.close()
        #expect(taken == [1] && parkedAgain && wokenByClose == "writer")
        #expect(wokenTwice == nil, "a wake-up is handed out once")
    }

    @Test("closing drains what was accepted, then finishes; later writes are refused")
    func closeDrains() {
        var queue = machine()
        submit(1...5, to: &queue)
        let wakeUp = queue.close()
        #expect(wakeUp == nil, "no writer was parked")
        guard case .refuse(let error) = queue.submit(6, at: at(milliseconds: 0)) else {
            Issue.record("a write was accepted after close")
            return
        }
        #expect(error == .storeUnavailable(detail: "the service is shutting down"))
        let drained = batch(queue.nextBatch())
        let unanswered = queue.finishBatch()
        #expect(drained == [1, 2, 3, 4, 5] && unanswered == [1, 2, 3, 4, 5])
        guard case .finished = queue.nextBatch() else {
            Issue.record("a closed, drained queue did not finish")
            return
        }
    }

    @Test("a write still waiting after waitMax is taken out to be refused; not a moment before")
    func overdueWaiting() {
        var queue = machine()
        submit([1], to: &queue, atMilliseconds: 0)
        submit([2], to: &queue, atMilliseconds: 500)
        let atWaitMax = queue.takeOverdueWaiting(at: at(milliseconds: 1_000))
        let justPast = queue.takeOverdueWaiting(at: at(milliseconds: 1_001))
        let later = queue.takeOverdueWaiting(at: at(milliseconds: 1_501))
        #expect(atWaitMax == [], "exactly waitMax is not overdue")
        #expect(justPast == [1] && later == [2])
        #expect(queue.pending.isEmpty)
    }

    @Test("a write in flight past answerMax is answered by the reaper; the writer then answers only the others")
    func overdueInFlight() {
        var queue = machine()
        submit([1], to: &queue, atMilliseconds: 0)
        submit([2], to: &queue, atMilliseconds: 900)
        let taken = batch(queue.nextBatch())
        let waiting = queue.takeOverdueWaiting(at: at(milliseconds: 2_001))
        let atAnswerMax = queue.takeOverdueInFlight(at: at(milliseconds: 2_000))
        let justPast = queue.takeOverdueInFlight(at: at(milliseconds: 2_001))
        let again = queue.takeOverdueInFlight(at: at(milliseconds: 2_500))
        let unanswered = queue.finishBatch()
        let afterBatch = queue.takeOverdueInFlight(at: at(milliseconds: 9_000))
        #expect(taken == [1, 2] && waiting == [], "writes in flight are not waiting")
        #expect(atAnswerMax == [] && justPast == [1])
        #expect(again == [], "answered once")
        #expect(unanswered == [nil, 2], "the writer answers only the write the reaper did not")
        #expect(afterBatch == [], "nothing in flight after the batch")
    }
}
