import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import TurnstileStore

@testable import TurnstileServer

/// A request whose client went away (an HTTP/2 stream reset, a connection closed with streams in flight) is counted
/// in `/metrics`, and never logged above debug: one client could otherwise write thousands of lines a second.
@Suite("Cancelled requests")
struct CancelledRequestTests {
    /// Every entry logged at `minimum` or above.
    final class Entries: Sendable {
        let lines = Mutex<[Logger.Level]>([])
    }

    struct Collector: LogHandler {
        let entries: Entries
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            entries.lines.withLock { $0.append(event.level) }
        }
    }

    @Test("a thousand cancelled requests log nothing above debug, and /metrics counts every one")
    func cancelledRequestsAreCounted() async throws {
        let entries = Entries()
        let metrics = ServiceMetrics(
            writes: WriteActivity(), hub: LiveHub(),
            connections: ConnectionGate(
                connectionsMax: 10, connectionsPerClientMax: 10))
        let router = Router(context: TurnstileRequestContext.self)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        router.get("gone") { _, _ -> String in throw CancellationError() }
        router.get("metrics") { _, _ in String(decoding: metrics.exposition(), as: UTF8.self) }
        let app = Application(router: router, logger: Logger(label: "test") { _ in Collector(entries: entries) })
        try await app.test(.router) { client in
            for _ in 0..<1_000 { _ = try await client.execute(uri: "/gone", method: .get) }
            let scraped = try await client.execute(uri: "/metrics", method: .get)
            #expect(String(buffer: scraped.body).contains("turnstile_http_requests_cancelled_total 1000"))
        }
        #expect(entries.lines.withLock { $0.filter { $0 > .debug } }.isEmpty)
    }
}
