import Foundation
import TurnstileCore
import TurnstileStore

/// The SQL half of every store's writer: what ``BatchPlan`` needs is read with a handful of statements, the plan
/// decides the whole batch, and its effects are written back, all on one session inside the caller's transaction.
public enum BatchCommit {
    /// Decides `batch` at `now` and writes what it changed; the caller commits (or rolls back) around it, and
    /// answers each write once it committed.
    public static func decideAndWrite(
        _ batch: [PendingWrite], now: Date, on session: some SQLSession
    ) async throws -> (answers: [WriteAnswer], effects: BatchPlan.Effects) {
        var plan = BatchPlan(
            try await BatchInputs.load(BatchPlan.needs(of: batch.lazy.map(\.operation)), now: now, on: session))
        let answers = batch.map { $0.decide(on: &plan) }
        let effects = plan.finish()
        try await write(effects, on: session)
        return (answers, effects)
    }

    /// Writes a batch's rows, parents before children so every foreign key finds its row.
    private static func write(_ effects: BatchPlan.Effects, on session: some SQLSession) async throws {
        try await upsert(on: session, Tables.users, effects.users)
        try await upsert(on: session, Tables.events, effects.events)
        try await upsert(on: session, Tables.products, effects.products)
        try await upsert(on: session, Tables.items, effects.items.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.bookings, effects.bookings.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.waitlist, effects.waitlist.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.orders, effects.orders.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.ledger, effects.ledger)
        try await upsert(on: session, Tables.bids, effects.bids)
        try await upsert(on: session, Tables.claimKeys, effects.claimKeys)
        var credits: [[SQLValue]] = []
        for (resource, balance) in effects.balances.sorted(by: { $0.key < $1.key }) {
            let remaining = balance.remaining
            switch resource {
            case .seats(let id):
                try await session.execute("UPDATE events SET available_seats = \(remaining) WHERE id = \(id)")
            case .stock(let id):
                try await session.execute("UPDATE products SET stock = \(remaining) WHERE id = \(id)")
            case .credits(let userID):
                credits.append([userID.sqlValue, balance.capacity.sqlValue, remaining.sqlValue])
            }
        }
        try await upsert(on: session, Tables.creditAccounts, credits)
    }

    /// Inserts rows, updating the table's changeable columns where the key exists, in as few statements as the bind
    /// limit allows.
    private static func upsert<Value>(
        on session: some SQLSession, _ table: Table<Value>, _ values: [Value]
    ) async throws {
        let rows = values.map(table.row)
        let rowsPerStatement = Limits.sqlBindsPerStatementMax / table.columns.count
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.endIndex)]
            let values = chunk.map { row -> SQLStatement in "\(list: row)" }
            var statement: SQLStatement = """
                INSERT INTO \(identifier: table.name) (\(columns: table.columns)) \
                VALUES \(values.joined(separator: ", "))
                """
            if !table.updated.isEmpty {
                let updates = table.updated.map { column -> SQLStatement in
                    "\(identifier: column) = excluded.\(identifier: column)"
                }
                statement += " ON CONFLICT (\(identifier: table.key)) DO UPDATE SET \(updates.joined(separator: ", "))"
            }
            try await session.execute(statement)
            start += chunk.count
        }
    }
}

/// How a domain value becomes a row: its table, columns (in bind order) and the columns a later batch may change.
struct Table<Value>: Sendable {
    let name: String
    let columns: [String]
    var key = "id"
    var updated: [String] = []
    let row: @Sendable (Value) -> [SQLValue]
}

/// Every table a batch writes.
enum Tables {
    static let users = Table<StoredCredentials>(
        name: "users", columns: ["id", "email", "username", "password_hash", "created_at_ms"]
    ) {
        [
            SQLValue($0.user.id), .text($0.user.email), .text($0.user.username), .text($0.passwordHash),
            SQLValue($0.user.createdAt),
        ]
    }

    static let events = Table<Event>(name: "events", columns: Columns.event) {
        [
            SQLValue($0.id), .text($0.title), SQLValue($0.description), SQLValue($0.date),
            SQLValue($0.location), SQLValue($0.seatCount), SQLValue($0.availableSeats),
            SQLValue($0.organizerID), SQLValue($0.createdAt), SQLValue($0.seatsPerUserMax),
        ]
    }

    static let products = Table<Product>(
        name: "products", columns: Columns.product
    ) {
        [
            SQLValue($0.id), .text($0.sku), .text($0.name), SQLValue($0.priceCents), SQLValue($0.stockTotal),
            SQLValue($0.stock), SQLValue($0.createdAt),
        ]
    }

    static let items = Table<Item>(
        name: "items", columns: Columns.item,
        updated: ["current_bid_cents", "highest_bidder_id", "bid_count"]
    ) {
        [
            SQLValue($0.id), SQLValue($0.sellerID), .text($0.title), SQLValue($0.startingPriceCents),
            SQLValue($0.minIncrementCents), SQLValue($0.endsAt), SQLValue($0.currentBidCents),
            SQLValue($0.highestBidderID), SQLValue($0.bidCount), SQLValue($0.createdAt),
        ]
    }

    static let bookings = Table<Booking>(
        name: "bookings", columns: Columns.booking, updated: ["status"]
    ) {
        [
            SQLValue($0.id), SQLValue($0.userID), SQLValue($0.eventID), SQLValue($0.seatCount),
            .text($0.status.rawValue), SQLValue($0.expiresAt), SQLValue($0.createdAt),
        ]
    }

    static let waitlist = Table<WaitlistEntry>(
        name: "waitlist", columns: Columns.waitlistEntry,
        updated: ["status", "offered_booking_id"]
    ) {
        [
            SQLValue($0.id), SQLValue($0.eventID), SQLValue($0.userID), SQLValue($0.seatCount),
            .text($0.status.rawValue), SQLValue($0.position), SQLValue($0.offeredBookingID),
            SQLValue($0.createdAt),
        ]
    }

    static let orders = Table<Order>(
        name: "orders", columns: Columns.order, updated: ["status"]
    ) {
        [
            SQLValue($0.id), SQLValue($0.userID), SQLValue($0.productID), SQLValue($0.quantity),
            SQLValue($0.totalCents), .text($0.status.rawValue), SQLValue($0.createdAt),
        ]
    }

    static let ledger = Table<LedgerEntry>(
        name: "ledger", columns: Columns.ledgerEntry
    ) {
        [
            SQLValue($0.id), SQLValue($0.userID), .text($0.kind.rawValue), SQLValue($0.amount),
            SQLValue($0.balanceAfter), SQLValue($0.reason), SQLValue($0.createdAt),
        ]
    }

    static let bids = Table<Bid>(name: "bids", columns: Columns.bid) {
        [
            SQLValue($0.itemID), SQLValue($0.seq), SQLValue($0.bidderID), SQLValue($0.amountCents),
            SQLValue($0.createdAt),
        ]
    }

    static let claimKeys = Table<BatchPlan.StoredClaimKey>(
        name: "claim_keys",
        columns: ["user_id", "key", "resource_kind", "resource_id", "amount", "grant_id", "outcome"]
    ) {
        [
            SQLValue($0.ref.userID), .text($0.ref.key), .text($0.resource.kind.rawValue),
            SQLValue($0.resource.id), SQLValue($0.amount), SQLValue($0.grantID), .text($0.outcome.rawValue),
        ]
    }

    /// Rows of `[user_id, total, balance]`.
    static let creditAccounts = Table<[SQLValue]>(
        name: "credit_accounts", columns: ["user_id", "total", "balance"], key: "user_id",
        updated: ["total", "balance"]
    ) { $0 }
}
