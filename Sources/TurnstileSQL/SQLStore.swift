import Foundation
import Logging
import ServiceLifecycle
import TurnstileCore
import TurnstileStore

/// A store whose data lives in a SQL database. It supplies ``read(_:)`` (on committed state, away from the
/// writer) and gets every read of ``TurnstileStore`` from here, so both databases answer with the same statements.
public protocol SQLStore: TurnstileStore {
    /// Runs one read statement on the last committed state.
    func read(_ statement: SQLStatement) async throws(TurnstileError) -> [any SQLRow]
}

extension SQLStore {
    public func credentials(email: String) async throws(TurnstileError) -> StoredCredentials? {
        let rows = try await read("SELECT \(columns: Tables.users.columns) FROM users WHERE email = \(email)")
        return rows.first.map(Tables.users.value(of:))
    }

    public func user(id: Int64) async throws(TurnstileError) -> User? {
        try await read("SELECT \(columns: Tables.userColumns) FROM users WHERE id = \(id)").first.map(Tables.user(of:))
    }

    public func event(id: Int64) async throws(TurnstileError) -> Event? {
        try await read("SELECT \(columns: Tables.events.columns) FROM events WHERE id = \(id)").first.map(
            Tables.events.value(of:))
    }

    public func events(_ page: PageRequest) async throws(TurnstileError) -> Page<Event> {
        let rows = try await read(
            "SELECT \(columns: Tables.events.columns) FROM events ORDER BY id LIMIT \(page.pageSize) OFFSET \(page.offset)"
        )
        let total = try await read("SELECT COUNT(*) AS total FROM events").first?.int("total") ?? 0
        return Page(items: rows.map(Tables.events.value(of:)), total: total, request: page)
    }

    public func bookings(userID: Int64) async throws(TurnstileError) -> [Booking] {
        try await read(
            "SELECT \(columns: Tables.bookings.columns) FROM bookings WHERE user_id = \(userID) ORDER BY id DESC LIMIT \(Limits.bookingsListedMax)"
        ).map { Tables.bookings.value(of: $0) }
    }

    public func product(id: Int64) async throws(TurnstileError) -> Product? {
        try await read("SELECT \(columns: Tables.products.columns) FROM products WHERE id = \(id)").first.map(
            Tables.products.value(of:))
    }

    public func products(_ page: PageRequest) async throws(TurnstileError) -> Page<Product> {
        let rows = try await read(
            "SELECT \(columns: Tables.products.columns) FROM products ORDER BY id LIMIT \(page.pageSize) OFFSET \(page.offset)"
        )
        let total = try await read("SELECT COUNT(*) AS total FROM products").first?.int("total") ?? 0
        return Page(items: rows.map { Tables.products.value(of: $0) }, total: total, request: page)
    }

    public func orders(userID: Int64) async throws(TurnstileError) -> [Order] {
        try await read(
            "SELECT \(columns: Tables.orders.columns) FROM orders WHERE user_id = \(userID) ORDER BY id DESC LIMIT \(Limits.ordersListedMax)"
        ).map { Tables.orders.value(of: $0) }
    }

    public func stockSummary() async throws(TurnstileError) -> StockSummary {
        // One statement, so the counts come from one snapshot and add up.
        let rows = try await read(
            """
            SELECT 'product' AS what, COUNT(*) AS count, CAST(COALESCE(SUM(stock), 0) AS BIGINT) AS units FROM products
            UNION ALL SELECT status, COUNT(*), CAST(SUM(quantity) AS BIGINT) FROM orders GROUP BY status
            """)
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
        let row = try await read("SELECT total, balance FROM credit_accounts WHERE user_id = \(userID)")
            .first
        return CreditAccount(userID: userID, total: row?.int("total") ?? 0, balance: row?.int("balance") ?? 0)
    }

    public func ledger(userID: Int64) async throws(TurnstileError) -> [LedgerEntry] {
        try await read(
            "SELECT \(columns: Tables.ledger.columns) FROM ledger WHERE user_id = \(userID) ORDER BY id DESC LIMIT \(Limits.ledgerEntriesListedMax)"
        ).map { Tables.ledger.value(of: $0) }
    }

    public func item(id: Int64) async throws(TurnstileError) -> Item? {
        try await read("SELECT \(columns: Tables.items.columns) FROM items WHERE id = \(id)").first.map(
            Tables.items.value(of:))
    }

    public func bids(itemID: Int64) async throws(TurnstileError) -> [Bid] {
        try await read(
            """
            SELECT * FROM (SELECT \(columns: Tables.bids.columns) FROM bids WHERE item_id = \(itemID) ORDER BY seq DESC LIMIT \(Limits.bidsListedMax)) AS newest
            ORDER BY seq
            """
        ).map { Tables.bids.value(of: $0) }
    }

    public func checkReachable() async throws(TurnstileError) {
        _ = try await read("SELECT 1 AS one")
    }

    /// Runs `queue`'s writer loop with `commit`, and the hold sweep beside it, until graceful shutdown (or
    /// cancellation) closes the queue; returns once every write the queue accepted has been carried out.
    public func runWriter(
        _ queue: WriteQueue<PendingWrite, ContinuousClock>, clock: @escaping @Sendable () -> Date,
        logger: Logger,
        commit: @escaping @Sendable ([PendingWrite]) async throws(TurnstileError) -> [WriteAnswer]
    ) async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.sweepHolds(clock: clock, logger: logger) }
                    await queue.run(commit)
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                queue.close()
            }
        } onCancel: {
            queue.close()
        }
    }

    /// Every ``Limits/holdSweepIntervalMilliseconds``, releases the holds that ran out, until cancelled. Expiry
    /// lives in the database (`expires_at_ms`), so a restart loses nothing: the first sweep after it releases
    /// whatever ran out meanwhile. A cheap read first keeps idle sweeps from writing at all.
    public func sweepHolds(clock: @Sendable () -> Date, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(Limits.holdSweepIntervalMilliseconds))
                if try await holdsHaveRunOut(by: clock()) { try await expireHolds() }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("sweeping expired holds failed; the next sweep retries: \(error)")
            }
        }
    }

    /// Maps any error below the store to the domain's: SQL never leaks upwards, not even in a message. The caller
    /// logs the database's own words; clients get a sentence of ours.
    public static func storeError(_ error: any Error) -> TurnstileError {
        if let error = error as? TurnstileError { return error }
        return .storeUnavailable(detail: "the database failed to carry out the request; retry shortly.")
    }

    /// Whether any hold had run out by `now`: the cheap check that keeps idle sweeps from writing at all.
    public func holdsHaveRunOut(by now: Date) async throws(TurnstileError) -> Bool {
        try await !read("SELECT 1 AS due FROM bookings WHERE status = 'held' AND expires_at_ms <= \(now) LIMIT 1")
            .isEmpty
    }
}
