import Testing

@testable import TurnstilePostgres

/// The PostgreSQL store is ready only while it hears the other instances: its readiness check waits for that.
@Suite("Listener readiness", .timeLimit(.minutes(1)))
struct ListenerReadinessTests {
    @Test("waiters go on once the LISTEN is in place, not while it is not")
    func waitersGoOnWhenListening() async {
        let readiness = ListenerReadiness()
        let waiter = Task { await readiness.wait() }
        while readiness.waiting == 0 { await Task.yield() }
        readiness.set(listening: false)
        #expect(readiness.waiting == 1 && !readiness.isListening, "a lost LISTEN releases nobody")
        readiness.set(listening: true)
        await waiter.value
        #expect(readiness.waiting == 0 && readiness.isListening)
        await readiness.wait()  // already listening: goes on at once
    }

    @Test("a cancelled waiter goes on without the LISTEN, and is forgotten")
    func cancelledWaiterGoesOn() async {
        let readiness = ListenerReadiness()
        let waiter = Task { await readiness.wait() }
        while readiness.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await waiter.value
        #expect(readiness.waiting == 0 && !readiness.isListening)
        readiness.set(listening: true)  // resumes nobody twice
    }
}
