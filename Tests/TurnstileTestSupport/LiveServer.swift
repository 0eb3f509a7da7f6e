import Foundation
import Logging
import TurnstileCore
import NIOSSL
import ServiceLifecycle
import TurnstileSQLite
import TurnstileServer

/// A real Turnstile server on 127.0.0.1 and an ephemeral port, over a real SQLite file in a temporary directory.
public struct LiveServer: Sendable {
    public let port: Int
    /// The SQLite file the server writes, for reading the store back directly.
    public let databasePath: String
    private let services: ServiceGroup
    private let stopped: AsyncStream<Void>

    /// Shuts the server down gracefully, as SIGTERM does, and returns once it has stopped: in-flight requests
    /// answered, accepted writes committed and the store closed. The database file stays until ``with(_:)`` returns.
    public func shutDown() async {
        await services.triggerGracefulShutdown()
        for await _ in stopped {}
    }

    /// Runs `body` against a live server (over HTTPS with `tls`), then shuts the server down gracefully and removes
    /// its files.
    public static func with<Result: Sendable>(
        tls: TLSConfiguration? = nil, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (LiveServer) async throws -> Result
    ) async throws -> Result {
        let directory = try temporaryFolder("turnstile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let databasePath = directory.appendingPathComponent("live.sqlite").path

        var logger = Logger(label: "turnstile.test")
        logger.logLevel = .warning
        let store = try await SQLiteStore.open(
            SQLiteStoreConfiguration(path: databasePath, timeouts: .patient), logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        // One PBKDF2 round: tests provision hundreds of users, and hashing strength is not what they test.
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, jwtSecret: Array(repeating: 7, count: 32), passwordHashRounds: 1,
            passwordHashesQueuedMax: 100_000, authRateLimit: nil, tls: tls)
        configure(&configuration)
        let server = Server(configuration: configuration, store: store, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(
            configuration: .init(services: [server.application()], gracefulShutdownSignals: [], logger: logger))
        return try await serve(group, portReportedOn: ports) { port, stopped in
            try await body(LiveServer(port: port, databasePath: databasePath, services: group, stopped: stopped))
        }
    }

    /// Sends one request to this server.
    public func send(_ request: HTTPTestRequest) async throws -> HTTPTestResponse {
        try await TurnstileTestSupport.send(request, to: port)
    }

    /// Prepares every request on its own connection, then releases their last bytes together and gathers the
    /// responses, in the order of `requests`.
    public func race(_ requests: [HTTPTestRequest]) async throws -> [HTTPTestResponse] {
        try await race(requests, whileReleased: {}).map { try $0.get() }
    }

    /// Like ``race(_:)``, but runs `afterRelease` as soon as the last bytes are out, and reports each exchange's
    /// response or the error that ended it (a connection closed by a shutting-down server, say).
    public func race(
        _ requests: [HTTPTestRequest], whileReleased afterRelease: () async -> Void
    ) async throws -> [Result<HTTPTestResponse, any Error>] {
        let prepared = await withTaskGroup(of: (Int, Result<PreparedExchange, any Error>).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    do { return (index, .success(try await PreparedExchange.prepare(request, to: port))) } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var prepared = [Result<PreparedExchange, any Error>?](repeating: nil, count: requests.count)
            for await (index, exchange) in group { prepared[index] = exchange }
            return prepared.map { $0! }
        }
        // If any exchange could not be prepared, close the others: held half-sent, they would pin the server.
        let exchanges: [PreparedExchange]
        do {
            exchanges = try prepared.map { try $0.get() }
        } catch {
            for case .success(let exchange) in prepared { exchange.close() }
            throw error
        }
        for exchange in exchanges { exchange.release() }
        await afterRelease()
        var responses: [Result<HTTPTestResponse, any Error>] = []
        for exchange in exchanges {
            do { responses.append(.success(try await exchange.response())) } catch { responses.append(.failure(error)) }
        }
        return responses
    }
}

enum LiveServerError: Error {
    case didNotStart
}

/// Runs `group` (a server that reports its ephemeral port on `ports`) while `body` uses that port, then shuts it down
/// gracefully and waits until it has stopped, whether `body` succeeded or threw. `body` also gets a stream that ends
/// when the group has stopped, for tests that shut it down themselves.
func serve<Result: Sendable>(
    _ group: ServiceGroup, portReportedOn ports: AsyncStream<Int>,
    _ body: (_ port: Int, _ stopped: AsyncStream<Void>) async throws -> Result
) async throws -> Result {
    let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { stop.finish() }
            try await group.run()
        }
        do {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw LiveServerError.didNotStart }
            let result = try await body(port, stopped)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}
