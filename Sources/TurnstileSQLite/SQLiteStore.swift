import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import ServiceLifecycle
import Synchronization
import TurnstileCore
import TurnstileStore

/// The embedded store: one SQLite file in WAL mode, a single writer connection driven by a ``WriteQueue`` (group
/// commit), and a few reader connections so that reads never wait behind the writer.
///
/// SQLite allows one writer at a time; rather than letting requests contend for the file lock, every write is a
/// command on the queue, and the writer carries out each batch in one `BEGIN IMMEDIATE … COMMIT` transaction. No
/// transaction is ever shared between tasks: only the writer loop touches the writer connection.
///
/// ```swift
/// try await SQLiteStore.withStore(SQLiteStoreConfiguration(path: "/tmp/t.sqlite")) { store in
///     let event = try await store.createEvent(newEvent, organizerID: 1)
/// }
/// ```
public final class SQLiteStore: TurnstileStore {
    let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<Int>(0)
    private let threadPools: [NIOThreadPool]
    private let queue = WriteQueue<WriteCommand, WriteResult>()
    public let changes = ChangeFeed()
    let logger: Logger
    let clock: @Sendable () -> Date
    public let identity: String
    public var commitSequence: UInt64 { queue.commitSequence }
    public var writeActivity: WriteActivity { queue.activity }

    private init(
        writer: SQLiteConnection, readers: [SQLiteConnection], threadPools: [NIOThreadPool], identity: String,
        logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        self.writer = writer
        self.readers = readers
        self.threadPools = threadPools
        self.identity = identity
        self.logger = logger
        self.clock = clock
    }

    /// Opens (creating if needed) and migrates the database. Call ``run()`` to start the writer, or use
    /// ``withStore(_:logger:clock:_:)`` for a scoped lifetime.
    public static func open(
        _ configuration: SQLiteStoreConfiguration,
        logger: Logger = Logger(label: "turnstile.sqlite"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> SQLiteStore {
        // Every connection has a thread pool of one thread, so its statements run one after another:
        // - the writer's must never wait behind reads (a pool is one FIFO queue);
        // - two statements active at once on one connection share its read transaction, so a read started beside
        //   another would see that one's older snapshot, and miss a write its caller has already seen acknowledged.
        let writerPool = NIOThreadPool(numberOfThreads: 1)
        let readerPools = (0..<configuration.readerCount).map { _ in NIOThreadPool(numberOfThreads: 1) }
        let threadPools = [writerPool] + readerPools
        for pool in threadPools { pool.start() }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        // `busy_timeout` replaces SQLiteNIO's retry-forever busy handler with a bounded wait, so another process
        // holding the file can never hang a request.
        let busyTimeout = "PRAGMA busy_timeout = \(Limits.sqliteBusyTimeoutMilliseconds)"
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(
                storage: .file(path: configuration.path), threadPool: writerPool, logger: logger, on: eventLoop)
            opened.append(writer)
            let journalMode = try await writer.query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
            guard journalMode == "wal" else {
                throw SQLiteStoreError.notWAL(journalMode: journalMode ?? "unknown", path: configuration.path)
            }
            for pragma in [
                "PRAGMA synchronous = \(configuration.durability.rawValue.uppercased())", "PRAGMA foreign_keys = ON",
                busyTimeout,
            ] {
                try await writer.execute(pragma)
            }
            try await SQLiteMigrations.migrate(writer)
            let identity = try await writer.query("SELECT value FROM meta WHERE key = 'identity'")[0].string("value")
            var readers: [SQLiteConnection] = []
            for readerPool in readerPools {
                let reader = try await SQLiteConnection.open(
                    storage: .file(path: configuration.path), threadPool: readerPool, logger: logger, on: eventLoop)
                opened.append(reader)
                try await reader.execute(busyTimeout)
                try await reader.execute("PRAGMA query_only = ON")
                readers.append(reader)
            }
            return SQLiteStore(
                writer: writer, readers: readers, threadPools: threadPools, identity: identity, logger: logger,
                clock: clock)
        } catch {
            for connection in opened { try? await connection.close() }
            for pool in threadPools { try? await pool.shutdownGracefully() }
            throw error
        }
    }

    /// Opens the store, runs its writer while `body` runs, then drains the writer and closes everything.
    public static func withStore<Result: Sendable>(
        _ configuration: SQLiteStoreConfiguration,
        logger: Logger = Logger(label: "turnstile.sqlite"),
        clock: @escaping @Sendable () -> Date = { Date() },
        _ body: (SQLiteStore) async throws -> Result
    ) async throws -> Result {
        let store = try await open(configuration, logger: logger, clock: clock)
        async let writer: Void = store.run()
        do {
            let result = try await body(store)
            store.queue.close()
            try await writer
            return result
        } catch {
            store.queue.close()
            try? await writer
            throw error
        }
    }

    /// Runs the writer until graceful shutdown (or cancellation), then finishes the writes already accepted and
    /// closes every connection.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.sweepHolds() }
                    await queue.run { batch throws(TurnstileError) in try await self.commit(batch) }
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.queue.close()
            }
        } onCancel: {
            self.queue.close()
        }
        for connection in [writer] + readers {
            do { try await connection.close() } catch { logger.error("closing SQLite failed: \(error)") }
        }
        for pool in threadPools { try await pool.shutdownGracefully() }
    }

    // MARK: Writes: each is a command for the single writer

    public func write(_ command: WriteCommand) async throws(TurnstileError) -> WriteOutput {
        try await queue.submit(command).get()
    }

    /// Every ``Limits/holdSweepIntervalMilliseconds``, releases the holds that ran out, until cancelled. Expiry
    /// lives in the file (`expires_at_ms`), so a restart loses nothing: the first sweep after it releases whatever
    /// ran out meanwhile. A cheap read first keeps idle sweeps from writing at all.
    private func sweepHolds() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(Limits.holdSweepIntervalMilliseconds))
                let due = try await read(
                    "SELECT 1 AS due FROM bookings WHERE status = 'held' AND expires_at_ms <= ? LIMIT 1",
                    [SQLiteData(clock())])
                if !due.isEmpty { try await expireHolds() }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("sweeping expired holds failed; the next sweep retries: \(error)")
            }
        }
    }

    // MARK: Reads: on the reader connections, from the last committed state

    public func credentials(email: String) async throws(TurnstileError) -> StoredCredentials? {
        let rows = try await read(
            "SELECT \(Columns.user), password_hash FROM users WHERE email = ?", [.text(email)])
        return rows.first.map { StoredCredentials(user: $0.user(), passwordHash: $0.string("password_hash")) }
    }

    public func event(id: Int64) async throws(TurnstileError) -> Event? {
        try await read("SELECT \(Columns.event) FROM events WHERE id = ?", [SQLiteData(id)]).first?.event()
    }

    public func events(_ page: PageRequest) async throws(TurnstileError) -> Page<Event> {
        let rows = try await read(
            "SELECT \(Columns.event) FROM events ORDER BY id LIMIT ? OFFSET ?",
            [SQLiteData(page.pageSize), SQLiteData(page.offset)])
        let total = try await read("SELECT COUNT(*) AS total FROM events", []).first?.int("total") ?? 0
        return Page(items: rows.map { $0.event() }, total: total, request: page)
    }

    public func bookings(userID: Int64) async throws(TurnstileError) -> [Booking] {
        try await read(
            "SELECT \(Columns.booking) FROM bookings WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            [SQLiteData(userID), SQLiteData(Limits.bookingsListedMax)]
        ).map { $0.booking() }
    }

    public func product(id: Int64) async throws(TurnstileError) -> Product? {
        try await read("SELECT \(Columns.product) FROM products WHERE id = ?", [SQLiteData(id)]).first?.product()
    }

    public func products(_ page: PageRequest) async throws(TurnstileError) -> Page<Product> {
        let rows = try await read(
            "SELECT \(Columns.product) FROM products ORDER BY id LIMIT ? OFFSET ?",
            [SQLiteData(page.pageSize), SQLiteData(page.offset)])
        let total = try await read("SELECT COUNT(*) AS total FROM products", []).first?.int("total") ?? 0
        return Page(items: rows.map { $0.product() }, total: total, request: page)
    }

    public func orders(userID: Int64) async throws(TurnstileError) -> [Order] {
        try await read(
            "SELECT \(Columns.order) FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            [SQLiteData(userID), SQLiteData(Limits.ordersListedMax)]
        ).map { $0.order() }
    }

    public func stockSummary() async throws(TurnstileError) -> StockSummary {
        // One statement, so the counts come from one snapshot and add up.
        let rows = try await read(
            """
            SELECT 'product' AS what, COUNT(*) AS count, COALESCE(SUM(stock), 0) AS units FROM products
            UNION ALL SELECT status, COUNT(*), SUM(quantity) FROM orders GROUP BY status
            """, [])
        var products = 0
        var units = 0
        var orders: [OrderStatus: Int] = [:]
        for row in rows {
            if let status = OrderStatus(rawValue: row.string("what")) {
                orders[status] = row.int("count")
            } else {
                products = row.int("count")
                units = row.int("units")
            }
        }
        return StockSummary(products: products, unitsInStock: units, ordersByStatus: orders)
    }

    public func creditAccount(userID: Int64) async throws(TurnstileError) -> CreditAccount {
        let row = try await read("SELECT total, balance FROM credit_accounts WHERE user_id = ?", [SQLiteData(userID)])
            .first
        return CreditAccount(userID: userID, total: row?.int("total") ?? 0, balance: row?.int("balance") ?? 0)
    }

    public func ledger(userID: Int64) async throws(TurnstileError) -> [LedgerEntry] {
        try await read(
            "SELECT \(Columns.ledgerEntry) FROM ledger WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            [SQLiteData(userID), SQLiteData(Limits.ledgerEntriesListedMax)]
        ).map { $0.ledgerEntry() }
    }

    public func item(id: Int64) async throws(TurnstileError) -> Item? {
        try await read("SELECT \(Columns.item) FROM items WHERE id = ?", [SQLiteData(id)]).first?.item()
    }

    public func bids(itemID: Int64) async throws(TurnstileError) -> [Bid] {
        try await read(
            "SELECT * FROM (SELECT \(Columns.bid) FROM bids WHERE item_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            [SQLiteData(itemID), SQLiteData(Limits.bidsListedMax)]
        ).map { $0.bid() }
    }

    public func checkReachable() async throws(TurnstileError) {
        _ = try await read("SELECT 1 AS one", [])
    }

    /// Runs a read on the next reader connection, round robin.
    private func read(_ sql: String, _ binds: [SQLiteData]) async throws(TurnstileError) -> [SQLiteRow] {
        let index = nextReader.add(1, ordering: .relaxed).oldValue % readers.count
        do {
            return try await readers[index].query(sql, binds)
        } catch {
            logger.error("read failed: \(error)")
            throw Self.storeError(error)
        }
    }

    /// Maps any error below the store to the domain's: SQL never leaks upwards, not even in a message. The caller
    /// logs the database's own words; clients get a sentence of ours.
    static func storeError(_ error: any Error) -> TurnstileError {
        if let error = error as? TurnstileError { return error }
        return .storeUnavailable(detail: "the database failed to carry out the request; retry shortly.")
    }
}
