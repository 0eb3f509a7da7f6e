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

    @OptionGroup(title: "Listening") var listening: ServeListeningOptions
    @OptionGroup(title: "Storage") var storage: ServeStorageOptions
    @OptionGroup(title: "PostgreSQL") var postgresOptions: ServePostgresOptions
    @OptionGroup(title: "Limits") var limits: ServeLimitOptions
    @OptionGroup(title: "Auth") var auth: ServeAuthOptions
    @OptionGroup(title: "Logging") var logging: ServeLoggingOptions

    /// What needs more than one group: instances sharing PostgreSQL must share a secret. Each group checks its own.
    func validate() throws {
        if let postgres = try storage.postgres, auth.secret == nil {
            throw ValidationError(
                "Instances sharing \(postgres.redacted) must share --jwt-secret (or TURNSTILE_JWT_SECRET).")
        }
    }

    /// Runs the service; whatever stops it from starting (a port in use, a database another process serves, a
    /// folder that does not exist) is one line on standard error and exit code 1.
    func run() async throws {
        do {
            try await ListenCheck.available(host: listening.host, port: listening.port)
            if try storage.postgres == nil { try Self.checkFolder(of: storage.database) }
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
        logger.logLevel = logging.logLevel
        // Every live-feed subscriber holds a connection: let the system's hard limit, not its default, bound them.
        LoadLimits.raiseOpenFileLimit()
        if var postgres = try storage.postgres {
            postgresOptions.apply(to: &postgres)
            postgres.timeouts = storage.timeouts
            let store = try await PostgresStore.open(postgres, logger: logger)
            // Each instance's read cache knows only its own commits, and a notification arrives a moment after its
            // commit: a shared database is read fresh every time.
            if !storage.noCache {
                logger.notice("the read cache is off on PostgreSQL: other instances' writes would not clear it")
            }
            try await serve(
                store, secret: Array((auth.secret ?? "").utf8), readCache: false,
                describing: postgres.redacted, logger: logger)
        } else {
            let store = try await SQLiteStore.open(
                SQLiteStoreConfiguration(
                    path: storage.database, durability: storage.durability, timeouts: storage.timeouts),
                logger: logger)
            try await serve(
                store, secret: try JWTSecret.resolve(explicit: auth.secret, keptBeside: storage.database),
                readCache: !storage.noCache, describing: storage.database, logger: logger)
        }
    }

    private func serve(
        _ store: some TurnstileStore, secret: [UInt8], readCache: Bool, describing description: String,
        logger: Logger
    ) async throws {
        let configuration = ServerConfiguration(
            host: listening.host, port: listening.port, jwtSecret: secret,
            passwordHashRounds: auth.passwordHashRounds, readCacheEnabled: readCache, rateLimit: limits.rateLimit.limit,
            authRateLimit: limits.authRateLimit.limit, readRateLimit: limits.readRateLimit.limit,
            trustForwardedFor: limits.trustForwardedFor, connectionsMax: limits.maxConnections,
            connectionsPerClientMax: limits.maxConnectionsPerClient, tls: try listening.tls)
        let scheme = listening.tlsCert == nil ? "http" : "https"
        let server = Server(configuration: configuration, store: store, logger: logger) {
            [host = listening.host] port in
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
