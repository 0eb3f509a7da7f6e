import Foundation
import TurnstileCore
import TurnstileStore

/// Where the PostgreSQL store connects, and how.
public struct PostgresStoreConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The most connections the pool opens (reads run on them; the writer takes one per batch).
    public var poolSize: Int
    /// How long opening a connection may take.
    public var connectTimeout: Duration
    /// Whether the writer batches claims (one transaction for up to ``Limits/writeBatchCommandsMax`` writes), or
    /// commits each claim in its own transaction: the latter only to measure what batching buys.
    public var batching: Bool
    /// How long reads and writes may take before they are answered 503; a call past its bound has its connection
    /// closed.
    public var timeouts: StoreTimeouts

    public init(
        host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
        poolSize: Int = 16, connectTimeout: Duration = .seconds(5), batching: Bool = true,
        timeouts: StoreTimeouts = StoreTimeouts()
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.batching = batching
        self.timeouts = timeouts
    }

    /// Parses `postgres://user[:password]@host[:port]/database` (or `postgresql://`). TLS is not offered: run the
    /// database on a private network or loopback.
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            ["postgres", "postgresql"].contains(scheme)
        else { throw PostgresStoreError.badURL("the database URL", reason: "it must start with postgres://") }
        // Named in messages without its password.
        var shown = url
        shown.password = nil
        let named = shown.string ?? "the database URL"
        guard let host = url.host, !host.isEmpty else { throw PostgresStoreError.badURL(named, reason: "no host") }
        guard let user = url.user, !user.isEmpty else { throw PostgresStoreError.badURL(named, reason: "no user") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw PostgresStoreError.badURL(named, reason: "no database after the host") }
        self.init(
            host: host, port: url.port ?? 5432, username: user, password: url.password, database: database)
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}
