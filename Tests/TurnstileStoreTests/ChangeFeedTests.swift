import Synchronization
import Testing
import TurnstileCore
import TurnstileStore

/// A feed is complete while every committed change reaches it: PostgreSQL's readiness waits for that, and live
/// subscribers who may have missed a change are told when it stops.
@Suite("Change feed", .timeLimit(.minutes(1)))
struct ChangeFeedTests {
    @Test("waiters go on once the feed is complete, not while it is interrupted")
    func waitersGoOnWhenComplete() async {
        let feed = ChangeFeed(complete: false)
        let waiter = Task { await feed.waitUntilComplete() }
        while feed.waiting == 0 { await Task.yield() }
        feed.interrupt()
        #expect(feed.waiting == 1 && !feed.isComplete, "an interruption releases nobody")
        feed.resume()
        await waiter.value
        #expect(feed.waiting == 0 && feed.isComplete)
        await feed.waitUntilComplete()  // complete already: goes on at once
    }

    @Test("a cancelled waiter goes on without the feed, and is forgotten")
    func cancelledWaiterGoesOn() async {
        let feed = ChangeFeed(complete: false)
        let waiter = Task { await feed.waitUntilComplete() }
        while feed.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await waiter.value
        #expect(feed.waiting == 0 && !feed.isComplete)
        feed.resume()  // resumes nobody twice
    }

    @Test("an interruption is announced once per loss, after the feed stopped being complete")
    func interruptionsAnnouncedOncePerLoss() {
        let feed = ChangeFeed()
        let seen = Mutex<[Bool]>([])
        feed.observeInterruptions { [feed] in seen.withLock { $0.append(feed.isComplete) } }
        feed.interrupt()
        feed.interrupt()  // still interrupted: nothing new to announce
        #expect(seen.withLock { $0 } == [false])
        feed.resume()
        feed.interrupt()
        #expect(seen.withLock { $0 } == [false, false])

        let neverComplete = ChangeFeed(complete: false)
        neverComplete.observeInterruptions { seen.withLock { $0.append(true) } }
        neverComplete.interrupt()  // nobody could have been listening
        #expect(seen.withLock { $0 }.count == 2)
    }

    @Test("observers get each published batch, in order; an empty batch is not published")
    func publishesInOrder() {
        let feed = ChangeFeed()
        let received = Mutex<[[LiveChange]]>([])
        feed.observe { changes in received.withLock { $0.append(changes) } }
        let first: [LiveChange] = [.availability(eventID: 1, availableSeats: 3, seatCount: 5)]
        let second: [LiveChange] = [.availability(eventID: 1, availableSeats: 2, seatCount: 5)]
        feed.publish(first)
        feed.publish([])
        feed.publish(second)
        #expect(received.withLock { $0 } == [first, second])
    }
}
