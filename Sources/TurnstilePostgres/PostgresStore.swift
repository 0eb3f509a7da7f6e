import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TurnstileCore
import TurnstileSQL
import TurnstileStore

/// The shared store: PostgreSQL, for several Turnstile instances behind a load balancer.
///
/// It runs the same statements as the SQLite store (``BatchCommit``, ``SQLStore``). Every instance batches its
/// writes through its own ``WriteQueue``, and each batch is one transaction that first takes a database-wide
/// advisory lock, then reads each resource it claims from with `SELECT … FOR UPDATE`, once. The plan numbers new rows
/// from `MAX(id) + 1`, so one batch at a time across all instances is what keeps them exact today; the row locks are
/// what would keep claims exact once ids come from sequences and the database-wide lock goes (docs/deploy.md). Batching is what makes that fast: a thousand
/// claims on one hot event cost one transaction, not a thousand lock hand-offs.
///
/// Live changes reach the subscribers of every instance: each batch sends its changes with `NOTIFY`, and every
/// instance listens (see ``ChangeNotifications``).
///
/// ```swift
/// let store = try await PostgresStore.open(PostgresStoreConfiguration(url: "postgres://turnstile@db/turnstile"))
/// try await ServiceGroup(services: [store, …]).run()
/// ```
public final class PostgresStore: SQLStore {
    private let client: PostgresClient
    private let clientRun: Task<Void, Never>
    private let queue: WriteQueue<PendingWrite, ContinuousClock>
    private let timeouts: StoreTimeouts
    private let notifications = ChangeNotifications()
    private let listener = Mutex<Task<Void, Never>?>(nil)
    public let changes = ChangeFeed()
    public let identity: String
    public var commitSequence: UInt64 { queue.commitSequence }
    public var writeActivity: WriteActivity { queue.activity }
    let logger: Logger
    let clock: @Sendable () -> Date

    /// The advisory lock every write batch holds for its transaction.
    static let writerLock: Int64 = 7_031_002

    private init(
        client: PostgresClient, clientRun: Task<Void, Never>, identity: String, batching: Bool,
        timeouts: StoreTimeouts, logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        self.client = client
        self.clientRun = clientRun
        self.identity = identity
        self.timeouts = timeouts
        queue = WriteQueue(batchMax: batching ? Limits.writeBatchCommandsMax : 1, timeouts: timeouts)
        self.logger = logger
        self.clock = clock
    }

    /// Connects, migrates and reads the database's identity. Call ``run()`` (or run the store as a service) to
    /// start the writer; it closes the connections when it ends.
    public static func open(
        _ configuration: PostgresStoreConfiguration,
        logger: Logger = Logger(label: "turnstile.postgres"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> PostgresStore {
        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
        clientConfiguration.options.maximumConnections = configuration.poolSize
        clientConfiguration.options.connectTimeout = configuration.connectTimeout
        // The server's side of the bounds: a statement or a transaction left behind by a call that was abandoned
        // (its connection closed on a link that never delivered the close) ends by itself and frees the writer lock.
        clientConfiguration.options.additionalStartupParameters = [
            ("statement_timeout", "\(Limits.postgresStatementTimeoutMilliseconds)"),
            ("idle_in_transaction_session_timeout", "\(Limits.postgresStatementTimeoutMilliseconds)"),
        ]
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let clientRun = Task { await client.run() }
        do {
            try await PostgresMigrations.migrate(client, logger: logger)
            let identity =
                try await PostgresSession.rows(
                    of: client.query("SELECT value FROM meta WHERE key = 'identity'", logger: logger)
                ).first?.string("value") ?? ""
            guard !identity.isEmpty else { throw PostgresStoreError.noIdentity }
            let store = PostgresStore(
                client: client, clientRun: clientRun, identity: identity, batching: configuration.batching,
                timeouts: configuration.timeouts,
                logger: logger, clock: clock)
            // Listening before anyone can subscribe: from the moment the server answers, no other instance's
            // change is missed.
            try await store.startListening()
            return store
        } catch {
            clientRun.cancel()
            await clientRun.value
            throw error
        }
    }

    /// Runs the writer and the hold sweep until graceful shutdown (or cancellation), then finishes the writes
    /// already accepted and closes the connections.
    public func run() async throws {
        await runWriter(queue, clock: clock, logger: logger) { batch throws(TurnstileError) in
            try await self.commit(batch)
        }
        if let listener = listener.withLock({ $0 }) {
            listener.cancel()
            await Self.waitForEnd(of: listener, "the change listener", logger: logger)
        }
        clientRun.cancel()
        await Self.waitForEnd(of: clientRun, "the connection pool", logger: logger)
    }

    /// Waits for `task` to end, but no longer than ``Limits/postgresShutdownSeconds``: the pool waits for every
    /// leased connection to come back, and a shutdown must not hang on one that never does.
    private static func waitForEnd(of task: Task<Void, Never>, _ what: String, logger: Logger) async {
        do {
            try await StoreDeadline.run(within: .seconds(Limits.postgresShutdownSeconds), "shutdown") {
                () throws(TurnstileError) in await task.value
            }
        } catch {
            logger.warning("\(what) did not stop within \(Limits.postgresShutdownSeconds) s; the store closes anyway")
        }
    }

    public func write<Write: WriteOperation>(_ write: Write) async throws(TurnstileError) -> Write.Output {
        try await queue.submit(write)
    }

    /// One batch in one transaction, under the writer lock; rolled back whole if the database fails or the batch
    /// runs out of time (its connection is closed), so nothing is acknowledged that did not commit. The batch's live
    /// changes are published after the commit.
    private func commit(_ batch: [PendingWrite]) async throws(TurnstileError) -> [WriteAnswer] {
        // Truncated to what the store keeps, so a value answered now equals the same value read back later.
        let now = Date(millisecondsSince1970: clock().millisecondsSince1970)
        let (logger, notifications) = (self.logger, self.notifications)
        // The batch's callers are answered by the queue at their own deadlines; this frees the writer itself from a
        // batch stuck on a dead link.
        let (answers, effects) = try await onConnection(within: timeouts.writeAnswer, "write batch of \(batch.count)") {
            connection in
            try await connection.withTransaction(logger: logger) { connection in
                let session = PostgresSession(connection: connection, logger: logger)
                try await session.execute("SELECT pg_advisory_xact_lock(?)", [SQLValue(Self.writerLock)])
                let decided = try await BatchCommit.decideAndWrite(batch, now: now, on: session)
                // Delivered to the other instances only if, and once, this transaction commits.
                for payload in try notifications.payloads(decided.effects.changes) {
                    try await session.execute(
                        "SELECT pg_notify(?, ?)", [SQLValue(ChangeNotifications.channel), SQLValue(payload)])
                }
                return decided
            }
        }
        changes.publish(effects.changes)
        return answers
    }

    /// Runs `body` on a pooled connection within `timeout`. Past it, the caller is answered `storeUnavailable` at
    /// once and the connection is closed under the work, so a query stuck on a dead or blackholed link ends too
    /// (PostgresNIO cannot cancel a running query) and the pool opens a fresh connection for the next caller.
    private func onConnection<Value: Sendable>(
        within timeout: Duration, _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws(TurnstileError) -> Value {
        let leased = Mutex<PostgresConnection?>(nil)
        let (client, logger) = (self.client, self.logger)
        let abandon: @Sendable () -> Void = {
            logger.error("\(what) did not finish within \(timeout); its connection is closed")
            leased.withLock { $0 }?.close().whenComplete { _ in }
        }
        return try await StoreDeadline.run(within: timeout, what, abandon: abandon) { () throws(TurnstileError) in
            do {
                return try await client.withConnection { connection in
                    leased.withLock { $0 = connection }
                    return try await body(connection)
                }
            } catch {
                logger.error("\(what) failed: \(loggable(error))")
                throw Self.storeError(error)
            }
        }
    }

    /// Starts publishing the other instances' committed changes to this one's subscribers, and returns once the
    /// `LISTEN` is in place (or throws if it could not be put in place).
    private func startListening() async throws {
        let (started, announce) = AsyncStream.makeStream(of: Result<Void, any Error>.self)
        let task = Task { await self.listenToOtherInstances(announce: announce) }
        listener.withLock { $0 = task }
        for await result in started { try result.get() }
    }

    /// Listens on a pooled connection held for the purpose until cancelled, announcing once whether the first
    /// `LISTEN` succeeded; if the connection is lost later, listens again a moment later.
    private func listenToOtherInstances(announce: AsyncStream<Result<Void, any Error>>.Continuation) async {
        var listenedBefore = false
        defer {
            // Cancelled before the first LISTEN: the store that waits for it must not wait forever.
            if !listenedBefore { announce.yield(.failure(CancellationError())) }
            announce.finish()
        }
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: ChangeNotifications.channel) { notifications in
                        if !listenedBefore {
                            listenedBefore = true
                            announce.yield(.success(()))
                            announce.finish()
                        }
                        for try await notification in notifications {
                            guard let changes = self.notifications.changes(fromOthers: notification.payload) else {
                                continue
                            }
                            self.changes.publish(changes)
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                guard listenedBefore else {
                    announce.yield(.failure(error))
                    announce.finish()
                    return
                }
                guard !Task.isCancelled else { return }
                logger.warning("listening for other instances' changes failed; retrying: \(loggable(error))")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Runs a read on a pooled connection, from the last committed state, within ``StoreTimeouts/read``.
    public func read(_ sql: String, _ binds: [SQLValue]) async throws(TurnstileError) -> [any SQLRow] {
        let (query, logger) = (PostgresSession.query(sql, binds), self.logger)
        return try await onConnection(within: timeouts.read, "read") {
            connection in
            try await PostgresSession.rows(of: connection.query(query, logger: logger))
        }
    }
}
