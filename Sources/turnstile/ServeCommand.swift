import ArgumentParser
import Foundation
import NIOCore
import NIOSSL
import Logging
import TurnstileLoad
import TurnstilePostgres
import TurnstileSQLite
import TurnstileServer
import TurnstileCore
import TurnstileStore

/// `turnstile serve`: the reservation service on an embedded SQLite store, or on a shared PostgreSQL database.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the reservation service.",
        discussion: """
            Listens on http://HOST:PORT, HTTP/1.1 (https:// with --tls-cert and --tls-key, HTTP/2 or HTTP/1.1 as \
            each client's ALPN offer chooses) and keeps everything in one SQLite file (created on first start), or, \
            with --database postgres://user[:password]@host[:port]/database, in PostgreSQL, where several \
            instances may share the load (migrated on first start). SIGINT or SIGTERM stops it cleanly: it stops \
            accepting, answers requests in flight, commits the writes it accepted, then exits.

            Access tokens are signed with --jwt-secret (or TURNSTILE_JWT_SECRET). On SQLite, without one, a random \
            secret is made on first start and kept beside the database as DATABASE.jwt-secret, so tokens survive \
            restarts. Instances sharing a PostgreSQL database must share one secret, so there it is required.

            One process serves an SQLite file: a second `serve` on the same file is refused. GET / lists where to \
            look: /openapi.json, /health, /ready, /metrics and the API under /api/v1.

            Examples:
              turnstile serve
              turnstile serve --port 9000 --database /var/lib/turnstile/shop.sqlite --rate-limit 50/s
              turnstile serve --database postgres://turnstile@db.internal:5432/turnstile --jwt-secret "$SECRET"
            """
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The SQLite database file (created if missing), or a postgres:// URL.")
    var database = "./turnstile.sqlite"

    @Option(help: "How commits are synced: full (survives power loss), normal (survives a crash), off.")
    var durability: SQLiteStoreConfiguration.Durability = .full

    @Option(
        help: ArgumentHelp(
            "The HS256 secret for access tokens, at least 32 characters.",
            discussion: "Defaults to the environment variable TURNSTILE_JWT_SECRET, then to the kept secret file."))
    var jwtSecret: String?

    @Option(help: "PBKDF2-SHA256 rounds for new password hashes.")
    var passwordHashRounds = ServerConfiguration.passwordHashRoundsDefault

    @Flag(help: "Answer event lists and details from the store every time (the read cache is on by default).")
    var noCache = false

    @Option(
        help: ArgumentHelp(
            "Each user's request budget: N/s, N/min or N/h, or off.",
            discussion: "Authenticated requests past it are answered 429 with Retry-After."))
    var rateLimit = RateLimitArgument(RateLimit.default)

    @Option(
        help: ArgumentHelp(
            "How long a store call may take before it is answered 503 store_unavailable, e.g. 1s.",
            discussion: "Reads and writes alike; a write waits at most half of it for the writer."))
    var storeTimeout = DurationArgument(StoreTimeouts().writeAnswer)

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

    @Option(help: "PostgreSQL: the most pooled connections.")
    var poolSize = 16

    @Option(help: "PostgreSQL: how long opening a connection may take, e.g. 5s.")
    var connectTimeout = DurationArgument(seconds: 5)

    @Flag(help: "PostgreSQL: commit every write in its own transaction (only to measure what batching buys).")
    var noBatching = false

    @Option(help: "The least severe log level printed: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(
        help: ArgumentHelp(
            "Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate chain (PEM), with --tls-key; production TLS "
                + "usually ends at a proxy.",
            valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The private key (PEM) of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    /// The listener's TLS, loaded from --tls-cert and --tls-key; nil without them.
    private var tls: TLSConfiguration? {
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
        guard passwordHashRounds >= 1 else { throw ValidationError("--password-hash-rounds must be at least 1.") }
        guard maxConnections >= 1, maxConnectionsPerClient >= 1 else {
            throw ValidationError("--max-connections and --max-connections-per-client must be at least 1.")
        }
        guard storeTimeout.timeAmount >= .milliseconds(10) else {
            throw ValidationError("--store-timeout must be at least 10ms.")
        }
        let secret = jwtSecret ?? ProcessInfo.processInfo.environment["TURNSTILE_JWT_SECRET"]
        if let secret, secret.utf8.count < 32 {
            throw ValidationError("The JWT secret must be at least 32 characters long.")
        }
        if let postgres = try postgres {
            guard secret != nil else {
                throw ValidationError(
                    "Instances sharing \(postgres.redacted) must share --jwt-secret (or TURNSTILE_JWT_SECRET).")
            }
            guard poolSize >= 2 else { throw ValidationError("--pool-size must be at least 2.") }
        }
    }

    /// Runs the service; whatever stops it from starting (a port in use, a database another process serves, a
    /// folder that does not exist) is one line on standard error and exit code 1.
    func run() async throws {
        do {
            try await ListenCheck.available(host: host, port: port)
            if try postgres == nil { try Self.checkFolder(of: database) }
            try await serveUntilStopped()
            FileHandle.standardOutput.write(Data("Turnstile stopped cleanly.\n".utf8))
        } catch {
            let line = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Throws unless the folder the SQLite file goes in exists.
    private static func checkFolder(of path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("the folder \(folder) for --database \(path) does not exist")
        }
    }

    private func serveUntilStopped() async throws {
        var logger = Logger(label: "turnstile")
        logger.logLevel = logLevel
        // Every live-feed subscriber holds a connection: let the system's hard limit, not its default, bound them.
        LoadLimits.raiseOpenFileLimit()
        let explicitSecret = jwtSecret ?? ProcessInfo.processInfo.environment["TURNSTILE_JWT_SECRET"]
        if var postgres = try postgres {
            postgres.poolSize = poolSize
            postgres.connectTimeout = .nanoseconds(connectTimeout.timeAmount.nanoseconds)
            postgres.batching = !noBatching
            postgres.timeouts = storeTimeouts
            let store = try await PostgresStore.open(postgres, logger: logger)
            // Each instance's read cache knows only its own commits; until instances tell each other (issue 5's
            // LISTEN/NOTIFY), a shared database is read fresh every time.
            if !noCache {
                logger.notice("the read cache is off on PostgreSQL: other instances' writes would not clear it")
            }
            try await serve(
                store, secret: Array((explicitSecret ?? "").utf8), readCache: false,
                describing: postgres.redacted, logger: logger)
        } else {
            let store = try await SQLiteStore.open(
                SQLiteStoreConfiguration(path: database, durability: durability, timeouts: storeTimeouts),
                logger: logger)
            try await serve(
                store, secret: try JWTSecret.resolve(explicit: explicitSecret, keptBeside: database),
                readCache: !noCache, describing: database, logger: logger)
        }
    }

    private var storeTimeouts: StoreTimeouts { StoreTimeouts(bound: .nanoseconds(storeTimeout.timeAmount.nanoseconds)) }

    /// The PostgreSQL configuration when --database is a postgres:// URL.
    private var postgres: PostgresStoreConfiguration? {
        get throws {
            guard database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") else { return nil }
            do { return try PostgresStoreConfiguration(url: database) } catch { throw ValidationError("\(error)") }
        }
    }

    private func serve(
        _ store: some TurnstileStore, secret: [UInt8], readCache: Bool, describing description: String,
        logger: Logger
    ) async throws {
        let configuration = ServerConfiguration(
            host: host, port: port, jwtSecret: secret, passwordHashRounds: passwordHashRounds,
            readCacheEnabled: readCache, rateLimit: rateLimit.limit, authRateLimit: authRateLimit.limit,
            readRateLimit: readRateLimit.limit, trustForwardedFor: trustForwardedFor, connectionsMax: maxConnections,
            connectionsPerClientMax: maxConnectionsPerClient, tls: try tls)
        let scheme = tlsCert == nil ? "http" : "https"
        let server = Server(configuration: configuration, store: store, logger: logger) { [host] port in
            // Written unbuffered: scripts and tests read this line through a pipe.
            let base = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
            let line =
                "Turnstile listening on \(base) (database \(description)): API \(base)/api/v1, "
                + "\(base)/openapi.json, /health, /ready, /metrics\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await server.run()
    }
}

extension SQLiteStoreConfiguration.Durability: ExpressibleByArgument {}

/// `--rate-limit`: a ``RateLimit`` such as `500/s`, or `off`.
struct RateLimitArgument: ExpressibleByArgument {
    let limit: RateLimit?

    init(_ limit: RateLimit?) {
        self.limit = limit
    }

    init?(argument: String) {
        if argument == "off" {
            limit = nil
            return
        }
        guard let limit = try? RateLimit(parsing: argument) else { return nil }
        self.limit = limit
    }

    var defaultValueDescription: String {
        limit.map { "\(Int($0.requestsPerSecond))/s" } ?? "off"
    }
}
extension Logger.Level: @retroactive ExpressibleByArgument {}
