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
/// instance listens (see ``ChangeNotifications``). The store's ``changes`` feed is complete only while its `LISTEN`
/// is in place: until then, and while it listens again after losing its connection, the store is not ready, and a
/// lost `LISTEN` interrupts the feed (its live subscribers, who may have missed a change, are told to reconnect).
///
/// ```swift
/// let store = try await PostgresStore.open(PostgresStoreConfiguration(url: "postgres://turnstile@db/turnstile"))
/// try await ServiceGroup(services: [store, …]).run()
/// ```
public final class PostgresStore: SQLStore {
    private let client: PostgresClient
    private let queue: WriteQueue<PendingWrite, ContinuousClock>
    private let timeouts: StoreTimeouts
    /// Answers 503 at once, for a moment, after a call found the database out of reach.
    private let breaker: OutageBreaker
    private let notifications = ChangeNotifications()
    /// Complete while this instance's `LISTEN` is in place, so that it hears every other instance's changes.
    public let changes = ChangeFeed(complete: false)
    public let identity: String
    public var commitSequence: UInt64 { queue.commitSequence }
    public var writeActivity: WriteActivity { queue.activity }
    let logger: Logger
    let clock: @Sendable () -> Date

    /// The advisory lock every write batch holds for its transaction.
    static let writerLock: Int64 = 7_031_002

    private init(
        client: PostgresClient, identity: String, batching: Bool, timeouts: StoreTimeouts, logger: Logger,
        clock: @escaping @Sendable () -> Date
    ) {
        self.client = client
        self.identity = identity
        self.timeouts = timeouts
        breaker = OutageBreaker(probeMax: timeouts.writeAnswer)
        queue = WriteQueue(batchMax: batching ? Limits.writeBatchCommandsMax : 1, timeouts: timeouts)
        self.logger = logger
        self.clock = clock
    }

    /// Connects, migrates and reads the database's identity, on a connection pool of its own that is closed again
    /// before this returns. Run the store as a service (``run()``) to serve: its own pool runs with it.
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
        let setUp = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let identity = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await setUp.run() }
            defer { group.cancelAll() }
            try await PostgresMigrations.migrate(setUp, logger: logger)
            return try await PostgresSession.rows(
                of: setUp.query("SELECT value FROM meta WHERE key = 'identity'", logger: logger)
            ).first?.string("value") ?? ""
        }
        guard !identity.isEmpty else { throw PostgresStoreError.noIdentity }
        return PostgresStore(
            client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger), identity: identity,
            batching: configuration.batching, timeouts: configuration.timeouts, logger: logger, clock: clock)
    }

    /// Runs the store until graceful shutdown (or cancellation), as a group of its own three services: the
    /// connection pool, the listener for the other instances' changes, and the writer with its hold sweep.
    ///
    /// Graceful shutdown stops them in reverse order: the writer first, which finishes the writes already accepted
    /// on a pool that is still running; then the listener; the pool last.
    public func run() async throws {
        let parts: [any Service] = [
            client,
            StorePart("the change listener") {
                await cancelWhenGracefulShutdown { await self.listenToOtherInstances() }
            },
            StorePart("the writer") {
                await self.runWriter(self.queue, clock: self.clock, logger: self.logger) {
                    batch throws(TurnstileError) in try await self.commit(batch)
                }
            },
        ]
        var configuration = ServiceGroupConfiguration(
            services: parts.map { .init(service: $0) }, gracefulShutdownSignals: [], cancellationSignals: [],
            logger: logger)
        // A pool waiting for a connection that never comes back must not hold the shutdown: past this, the parts
        // still running are cancelled.
        configuration.maximumGracefulShutdownDuration = .seconds(Limits.postgresShutdownSeconds)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// Ready once this instance hears the other instances' changes (waiting for that as the store starts or listens
    /// again) and the database answers a query, both within ``StoreTimeouts/read``.
    public func checkReachable() async throws(TurnstileError) {
        // One bound for both, so /ready answers within a read's bound like every other store call.
        do {
            try await StoreDeadline.run(within: timeouts.read, "readiness check") {
                [changes, self] () throws(TurnstileError) in
                await changes.waitUntilComplete()
                _ = try await self.read("SELECT 1 AS one")
            }
        } catch {
            guard changes.isComplete else {
                throw .storeUnavailable(detail: "not listening for the other instances' changes yet; retry shortly.")
            }
            throw error
        }
    }

    /// Queues `write` for the writer, unless the database was out of reach moments ago: then it is refused at once,
    /// not carried out. Its batch's commit tells the breaker whether the database is back.
    public func write<Write: WriteOperation>(_ write: Write) async throws(TurnstileError) -> Write.Output {
        try breaker.admit()
        return try await queue.submit(write)
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
        // Not refused by the breaker: the batch's writes were let in, and its commit is what probes the database.
        let (answers, effects) = try await onConnection(
            within: timeouts.writeAnswer, "write batch of \(batch.count)", admitting: false
        ) { connection in
            try await connection.withTransaction(logger: logger) { connection in
                let session = PostgresSession(connection: connection, logger: logger)
                try await session.execute("SELECT pg_advisory_xact_lock(\(Self.writerLock))")
                let decided = try await BatchCommit.decideAndWrite(batch, now: now, on: session)
                // Delivered to the other instances only if, and once, this transaction commits.
                for payload in try notifications.payloads(decided.effects.changes) {
                    try await session.execute("SELECT pg_notify(\(ChangeNotifications.channel), \(payload))")
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
    ///
    /// Whether the database answered goes to the breaker; with `admitting`, the breaker may refuse the call first.
    private func onConnection<Value: Sendable>(
        within timeout: Duration, _ what: String, admitting: Bool = true,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws(TurnstileError) -> Value {
        if admitting { try breaker.admit() }
        let leased = Mutex<PostgresConnection?>(nil)
        let (client, logger) = (self.client, self.logger)
        let abandon: @Sendable () -> Void = { [self] in
            logger.error("\(what) did not finish within \(timeout); its connection is closed")
            leased.withLock { $0 }?.close().whenComplete { _ in }
            noteReachability(false)
        }
        return try await StoreDeadline.run(within: timeout, what, abandon: abandon) {
            [self] () throws(TurnstileError) in
            do {
                let value = try await client.withConnection { connection in
                    leased.withLock { $0 = connection }
                    return try await body(connection)
                }
                noteReachability(true)
                return value
            } catch {
                logger.error("\(what) failed: \(loggable(error))")
                noteReachability(Self.answered(error))
                throw Self.storeError(error)
            }
        }
    }

    /// Tells the breaker whether a call reached the database, and logs where an outage begins or ends.
    private func noteReachability(_ reached: Bool) {
        if reached {
            if breaker.reached() { logger.notice("PostgreSQL answers again") }
        } else if breaker.unreachable() {
            let cooldown = Limits.storeOutageCooldownMilliseconds
            logger.error("PostgreSQL is out of reach: 503 at once for \(cooldown) ms, then one call at a time tries it")
        }
    }

    /// Whether `error` is the database's own answer (a statement it refused), rather than a sign that it cannot be
    /// reached: a lost, refused or closing connection, or a server shutting down (SQLSTATE classes 08 and 57) or out
    /// of connections (53).
    static func answered(_ error: any Error) -> Bool {
        if error is TurnstileError { return true }
        guard let error = error as? PSQLError, error.code == .server else { return false }
        let state = error.serverInfo?[.sqlState] ?? ""
        return !["08", "53", "57"].contains(state.prefix(2))
    }

    /// Publishes the other instances' committed changes to this one's subscribers, on a pooled connection held for
    /// the purpose, until cancelled; if the connection is lost, listens again a moment later.
    private func listenToOtherInstances() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: ChangeNotifications.channel) { notifications in
                        self.changes.resume()
                        self.noteReachability(true)
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
                guard !Task.isCancelled else { return }
                logger.warning("listening for other instances' changes failed; retrying: \(loggable(error))")
            }
            guard !Task.isCancelled else { return }
            // Whatever ended the LISTEN, changes may be missed until it is in place again.
            changes.interrupt()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Runs a read on a pooled connection, from the last committed state, within ``StoreTimeouts/read``.
    public func read(_ statement: SQLStatement) async throws(TurnstileError) -> [any SQLRow] {
        let (query, logger) = (PostgresQuery(statement), self.logger)
        return try await onConnection(within: timeouts.read, "read") {
            connection in
            try await PostgresSession.rows(of: connection.query(query, logger: logger))
        }
    }
}

/// One of a store's long-lived tasks, run as a service of the store's own group.
struct StorePart: Service, CustomStringConvertible {
    let description: String
    let body: @Sendable () async throws -> Void

    init(_ description: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.description = description
        self.body = body
    }

    func run() async throws { try await body() }
}
