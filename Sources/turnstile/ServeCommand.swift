import ArgumentParser
import Foundation
import Logging
import TurnstileLoad
import TurnstileSQLite
import TurnstileServer

/// `turnstile serve`: the reservation service on an embedded SQLite store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the reservation service.",
        discussion: """
            Listens on http://HOST:PORT and keeps everything in one SQLite file (created on first start). \
            SIGINT or SIGTERM stops it cleanly: it stops accepting, answers requests in flight, commits the \
            writes it accepted, then exits.

            Access tokens are signed with --jwt-secret (or TURNSTILE_JWT_SECRET). Without one, a random secret is \
            made on first start and kept beside the database as DATABASE.jwt-secret, so tokens survive restarts.
            """
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The SQLite database file; created if missing.")
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

    @Option(help: "The least severe log level printed: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be within 0...65535.") }
        guard passwordHashRounds >= 1 else { throw ValidationError("--password-hash-rounds must be at least 1.") }
        if let secret = jwtSecret ?? ProcessInfo.processInfo.environment["TURNSTILE_JWT_SECRET"], secret.utf8.count < 32
        {
            throw ValidationError("The JWT secret must be at least 32 characters long.")
        }
    }

    func run() async throws {
        var logger = Logger(label: "turnstile")
        logger.logLevel = logLevel
        // Every live-feed subscriber holds a connection: let the system's hard limit, not its default, bound them.
        LoadLimits.raiseOpenFileLimit()
        let secret = try JWTSecret.resolve(
            explicit: jwtSecret ?? ProcessInfo.processInfo.environment["TURNSTILE_JWT_SECRET"],
            keptBeside: database)
        let store = try await SQLiteStore.open(
            SQLiteStoreConfiguration(path: database, durability: durability), logger: logger)
        let configuration = ServerConfiguration(
            host: host, port: port, jwtSecret: secret, passwordHashRounds: passwordHashRounds,
            readCacheEnabled: !noCache)
        let server = Server(configuration: configuration, store: store, logger: logger) { [host] port in
            // Written unbuffered: scripts and tests read this line through a pipe.
            let line = "Turnstile listening on http://\(host):\(port) (database \(database))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await server.run()
    }
}

extension SQLiteStoreConfiguration.Durability: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
