import Synchronization
import Testing
import TurnstileCore

@testable import TurnstileStore

@Suite("Store deadlines")
struct StoreDeadlineTests {
    @Test("a call that finishes in time returns its value, and its error passes through unchanged")
    func callInTime() async throws {
        let value = try await StoreDeadline.run(within: .seconds(30), "read") { () throws(TurnstileError) in 42 }
        #expect(value == 42)
        await #expect(throws: TurnstileError.overloaded) {
            try await StoreDeadline.run(within: .seconds(30), "read") { () throws(TurnstileError) -> Int in
                throw .overloaded
            }
        }
    }

    @Test("a call that ignores cancellation is answered 503 at its deadline, and abandoned so that it ends")
    func stuckCallIsAbandoned() async throws {
        let stuck = Gate()
        let ended = Gate()
        let abandoned = Mutex(0)
        let answer: Result<Int, TurnstileError>
        do throws(TurnstileError) {
            answer = .success(
                try await StoreDeadline.run(
                    within: .milliseconds(50), "read",
                    abandon: {
                        abandoned.withLock { $0 += 1 }
                        stuck.open()
                    }
                ) { () throws(TurnstileError) -> Int in
                    // Like a query on a dead socket: only closing the connection (abandon) ends it.
                    await stuck.wait()
                    ended.open()
                    return 1
                })
        } catch {
            answer = .failure(error)
        }
        #expect(answer == .failure(.storeUnavailable(detail: "the store did not answer a read within 0.05 s")))
        await ended.wait()
        #expect(abandoned.withLock { $0 } == 1)
    }
}
