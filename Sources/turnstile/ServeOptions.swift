import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOSSL
import TurnstileCore
import TurnstilePostgres
import TurnstileSQLite
import TurnstileServer
import TurnstileStore

// `serve`'s options, in the groups its --help shows. Each group checks its own values in `validate()`; what needs
// two groups is checked by `ServeCommand.validate()`.

/// Where the service listens, and over what.
struct ServeListeningOptions: ParsableArguments {
    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(
        help: ArgumentHelp(
            "Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate chain (PEM), with --tls-key; production TLS "
                + "usually ends at a proxy.",
            valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key (PEM) of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    /// The listener's TLS, loaded from --tls-cert and --tls-key; nil without them.
    var tls: TLSConfiguration? {
        get throws {
            guard let tlsCert, let tlsKey else { return nil }
            do {
                return try TLSConfiguration.server(certificateFile: tlsCert, keyFile: tlsKey)
            } catch {
                throw ValidationError("--tls-cert \(tlsCert) / --tls-key \(tlsKey) could not be read as PEM: \(error)")
            }
        }
    }

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be within 0...65535.") }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together.")
        }
        _ = try tls
    }
}

/// Where the books are kept, and how long a store call may take.
struct ServeStorageOptions: ParsableArguments {
    @Option(help: "The SQLite database file (created if missing), or a postgres:// URL.")
    var database = "./turnstile.sqlite"

    @Option(help: "SQLite: how commits are synced: full (survives power loss), normal (survives a crash), off.")
    var durability: SQLiteStoreConfiguration.Durability = .full

    @Option(
        help: ArgumentHelp(
            "How long a store call may take before it is answered 503 store_unavailable, e.g. 1s.",
            discussion: "Reads and writes alike; a write waits at most half of it for the writer."))
    var storeTimeout = DurationArgument(StoreTimeouts().writeAnswer)

    @Flag(help: "Answer event lists and details from the store every time (the read cache is on by default).")
    var noCache = false

    var timeouts: StoreTimeouts { StoreTimeouts(bound: .nanoseconds(storeTimeout.timeAmount.nanoseconds)) }

    /// The PostgreSQL configuration when --database is a postgres:// URL.
    var postgres: PostgresStoreConfiguration? {
        get throws {
            guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else { return nil }
            do { return try PostgresStoreConfiguration(url: database) } catch { throw ValidationError("\(error)") }
        }
    }

    func validate() throws {
        guard storeTimeout.timeAmount >= .milliseconds(10) else {
            throw ValidationError("--store-timeout must be at least 10ms.")
        }
        _ = try postgres
    }
}

/// What only a PostgreSQL store reads.
struct ServePostgresOptions: ParsableArguments {
    @Option(help: "The most pooled connections.")
    var poolSize = 16

    @Option(help: "How long opening a connection may take, e.g. 5s.")
    var connectTimeout = DurationArgument(seconds: 5)

    @Flag(help: "Commit every write in its own transaction (only to measure what batching buys).")
    var noBatching = false

    func apply(to configuration: inout PostgresStoreConfiguration) {
        configuration.poolSize = poolSize
        configuration.connectTimeout = .nanoseconds(connectTimeout.timeAmount.nanoseconds)
        configuration.batching = !noBatching
    }

    func validate() throws {
        guard poolSize >= 2 else { throw ValidationError("--pool-size must be at least 2.") }
    }
}

/// What one client, or all of them, may spend.
struct ServeLimitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Each user's request budget: N/s, N/min or N/h, or off.",
            discussion: "Authenticated requests past it are answered 429 with Retry-After."))
    var rateLimit = RateLimitArgument(RateLimit.default)

    @Option(
        help: ArgumentHelp(
            "Each client address's budget for sign-ups and logins together: N/s, N/min or N/h, or off.",
            discussion: """
                Past it, 429 with Retry-After. The default lets a burst of 200 through (a test harness provisioning \
                accounts), then 20 a second. Each account's logins also slow down after 5 wrong passwords (1 s, \
                2 s, 4 s, … up to 15 min), and at most one password hash per core runs at a time, 64 more queued; \
                past that, 503 overloaded.
                """))
    var authRateLimit = RateLimitArgument(RateLimit.authDefault)

    @Option(
        help: ArgumentHelp(
            "Each client address's budget for public reads (lists and details): N/s, N/min or N/h, or off.",
            discussion: "Off unless set: load tests and benchmarks read from one address."))
    var readRateLimit = RateLimitArgument(nil)

    @Flag(
        help: ArgumentHelp(
            "Key per-client limits on the last X-Forwarded-For address, for a service behind a proxy that sets it.",
            discussion: "Without a proxy that overwrites it, a client could name any address: leave it off then."))
    var trustForwardedFor = false

    @Option(
        help: ArgumentHelp(
            "The most client connections held at once.",
            discussion: """
                Never more than the open-file limit less \(Limits.fileHandlesReserved) handles kept for the store and \
                the logs. At the cap the service stops accepting until a connection closes.
                """))
    var maxConnections = Limits.connectionsMaxDefault

    @Option(
        help: ArgumentHelp(
            "The most connections one client address holds at once; one more is closed at once.",
            discussion: "Behind a proxy every client shares the proxy's address: raise it there."))
    var maxConnectionsPerClient = Limits.connectionsPerClientMaxDefault

    func validate() throws {
        guard maxConnections >= 1, maxConnectionsPerClient >= 1 else {
            throw ValidationError("--max-connections and --max-connections-per-client must be at least 1.")
        }
    }
}

/// Access tokens and passwords.
struct ServeAuthOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The HS256 secret for access tokens, at least 32 characters.",
            discussion: "Defaults to the environment variable TURNSTILE_JWT_SECRET, then to the kept secret file."))
    var jwtSecret: String?

    @Option(help: "PBKDF2-SHA256 rounds for new password hashes.")
    var passwordHashRounds = ServerConfiguration.passwordHashRoundsDefault

    /// The secret given, by flag or by environment; nil when neither gives one.
    var secret: String? { jwtSecret ?? ProcessInfo.processInfo.environment["TURNSTILE_JWT_SECRET"] }

    func validate() throws {
        guard passwordHashRounds >= 1 else { throw ValidationError("--password-hash-rounds must be at least 1.") }
        if let secret, secret.utf8.count < 32 {
            throw ValidationError("The JWT secret must be at least 32 characters long.")
        }
    }
}

struct ServeLoggingOptions: ParsableArguments {
    @Option(help: "The least severe log level printed: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info
}
