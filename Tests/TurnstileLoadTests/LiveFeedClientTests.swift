import NIOCore
import NIOPosix
import Testing
import TurnstileLoad

@Suite(.timeLimit(.minutes(1)))
struct LiveFeedClientTests {
    @Test("subscribing to a server that accepts and never answers fails after the read timeout")
    func silentServer() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let silent = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let port = try #require(silent.localAddress?.port)
        let started = ContinuousClock.now
        await #expect(throws: LoadError.self) {
            _ = try await LiveFeedClient.subscribe(
                to: try LoadTarget(parsing: "http://127.0.0.1:\(port)"), path: "/api/v1/items/1/live",
                on: group.next(), timeouts: .init(read: .milliseconds(200)), onEvent: { _ in })
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
