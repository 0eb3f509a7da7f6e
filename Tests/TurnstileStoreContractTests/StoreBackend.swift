import Foundation
import Logging
import ServiceLifecycle
import Testing
import TurnstileCore
import TurnstilePostgres
import TurnstileSQL
import TurnstileSQLite
import TurnstileStore
import TurnstileTestSupport

/// The stores the contract suite runs against: SQLite always, PostgreSQL when ``PostgresTestDatabase`` has a
/// server.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    /// The backends this run can reach.
    static var available: [StoreBackend] { PostgresTestDatabase.url == nil ? [.sqlite] : allCases }

    var testDescription: String { rawValue }

    /// A fresh, empty database for one test, opened as often as `body` asks (the same data each time), then
    /// removed.
    func withFreshDatabase<Result>(
        _ body: (_ open: @Sendable (_ clock: @escaping @Sendable () -> Date) async throws -> any SQLStore)
            async throws -> Result
    ) async throws -> Result {
        let logger = {
            var logger = Logger(label: "turnstile.contract")
            logger.logLevel = .critical
            return logger
        }()
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("turnstile-contract-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = SQLiteStoreConfiguration(
                path: directory.appendingPathComponent("t.sqlite").path, timeouts: .patient)
            return try await body { clock in
                try await SQLiteStore.open(configuration, logger: logger, clock: clock)
            }
        case .postgres:
            return try await PostgresTestDatabase.withFresh { url in
                var configuration = try PostgresStoreConfiguration(url: url)
                configuration.poolSize = 8
                configuration.timeouts = .patient
                return try await body { [configuration] clock in
                    try await PostgresStore.open(configuration, logger: logger, clock: clock)
                }
            }
        }
    }
}

/// Runs `store` as a service while `body` uses it, then shuts it down gracefully, as SIGTERM does: the writes it
/// accepted are carried out, and its connections closed.
func running<Result>(
    _ store: any SQLStore, _ body: (any SQLStore) async throws -> Result
) async throws -> Result {
    let services = ServiceGroup(
        configuration: .init(services: [store], gracefulShutdownSignals: [], logger: Logger(label: "contract")))
    async let run: Void = services.run()
    do {
        let result = try await body(store)
        await services.triggerGracefulShutdown()
        try await run
        return result
    } catch {
        await services.triggerGracefulShutdown()
        try? await run
        throw error
    }
}

/// Opens a store over a fresh database of `backend` with the system clock, and runs `body` against it.
func withStore<Result>(
    _ backend: StoreBackend, _ body: (any SQLStore) async throws -> Result
) async throws -> Result {
    try await backend.withFreshDatabase { open in try await running(try await open { Date() }, body) }
}

let someDate = Date(timeIntervalSince1970: 1_900_000_000)

/// `users` registered users and one event of `seats` seats organised by the first.
func seed(_ store: any SQLStore, seats: Int, users: Int) async throws -> (event: Event, userIDs: [Int64]) {
    var userIDs: [Int64] = []
    for index in 0..<users {
        let registration = try Registration(email: "u\(index)@t.io", username: "user\(index)", password: "password1")
        userIDs.append(try await store.register(registration, passwordHash: "hash").id)
    }
    let event = try await store.createEvent(
        NewEvent(title: "Gig", description: "loud", date: someDate, location: "Hall", seatCount: seats),
        organizerID: userIDs[0])
    return (event, userIDs)
}
