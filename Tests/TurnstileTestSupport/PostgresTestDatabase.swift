import Foundation
import Logging
import PostgresNIO
import TurnstilePostgres

/// The PostgreSQL server the tests may use: `TURNSTILE_POSTGRES_URL` (`.ci/run` starts one on loopback and sets it,
/// with `TURNSTILE_REQUIRE_POSTGRES=1` so that a run without it fails instead of skipping).
public enum PostgresTestDatabase {
    public static let url = ProcessInfo.processInfo.environment["TURNSTILE_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    public static let required = ProcessInfo.processInfo.environment["TURNSTILE_REQUIRE_POSTGRES"] == "1"

    /// Creates an empty database on the server, runs `body` with its URL, then drops it (connections and all).
    public static func withFresh<Result>(_ body: (_ url: String) async throws -> Result) async throws -> Result {
        guard let url else { throw MissingServer() }
        let admin = try PostgresStoreConfiguration(url: url)
        let name = "turnstile_test_\(UUID().uuidString.prefix(8).lowercased())"
        try await query("CREATE DATABASE \(name)", on: admin)
        let password = admin.password.map { ":\($0)" } ?? ""
        do {
            let result = try await body("postgres://\(admin.username)\(password)@\(admin.host):\(admin.port)/\(name)")
            try await query("DROP DATABASE \(name) WITH (FORCE)", on: admin)
            return result
        } catch {
            try? await query("DROP DATABASE \(name) WITH (FORCE)", on: admin)
            throw error
        }
    }

    /// Runs one statement on its own connection to the database at `url`.
    public static func query(_ sql: String, url: String) async throws {
        try await query(sql, on: try PostgresStoreConfiguration(url: url))
    }

    /// Runs one statement on its own connection to `configuration`'s database.
    public static func query(_ sql: String, on configuration: PostgresStoreConfiguration) async throws {
        var logger = Logger(label: "turnstile.test.postgres")
        logger.logLevel = .critical
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.host, port: configuration.port, username: configuration.username,
                password: configuration.password, database: configuration.database, tls: .disable),
            id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String { "no PostgreSQL server: set TURNSTILE_POSTGRES_URL" }
    }
}
