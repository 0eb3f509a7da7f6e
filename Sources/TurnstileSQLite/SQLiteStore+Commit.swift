import Foundation
import Logging
import SQLiteNIO
import TurnstileCore
import TurnstileStore

extension SQLiteStore {
    /// Carries out one batch of writes in one transaction, in arrival order, and returns one result per write.
    ///
    /// Runs only on the writer loop. A write refused by a rule (sold out, email taken, …) fails alone; an error of
    /// the database rolls the whole batch back and fails every write in it, so nothing is acknowledged that did not
    /// commit. The batch's live changes are published after the commit, before any caller is answered.
    func commit(_ batch: [WriteCommand]) async throws(TurnstileError) -> [WriteResult] {
        do {
            try await writer.execute("BEGIN IMMEDIATE")
            do {
                let (results, effects) = try await decide(batch)
                try await write(effects)
                try await writer.execute("COMMIT")
                changes.publish(effects.changes)
                return results
            } catch {
                try? await writer.execute("ROLLBACK")
                throw error
            }
        } catch {
            logger.error("write batch of \(batch.count) failed and was rolled back: \(error)")
            throw Self.storeError(error)
        }
    }

    private func decide(_ batch: [WriteCommand]) async throws -> ([WriteResult], BatchPlan.Effects) {
        // Truncated to what the store keeps, so a value answered now equals the same value read back later.
        let now = Date(millisecondsSince1970: clock().millisecondsSince1970)
        var plan = BatchPlan(try await BatchInputs.load(BatchPlan.needs(of: batch), now: now, on: writer))
        let results = batch.map { plan.apply($0) }
        return (results, plan.finish())
    }

    /// Writes a batch's rows, parents before children so every foreign key finds its row.
    private func write(_ effects: BatchPlan.Effects) async throws {
        try await upsert(Tables.users, effects.users)
        try await upsert(Tables.events, effects.events)
        try await upsert(Tables.products, effects.products)
        try await upsert(Tables.items, effects.items.values.sorted { $0.id < $1.id })
        try await upsert(Tables.bookings, effects.bookings.values.sorted { $0.id < $1.id })
        try await upsert(Tables.waitlist, effects.waitlist.values.sorted { $0.id < $1.id })
        try await upsert(Tables.orders, effects.orders.values.sorted { $0.id < $1.id })
        try await upsert(Tables.ledger, effects.ledger)
        try await upsert(Tables.bids, effects.bids)
        try await upsert(Tables.claimKeys, effects.claimKeys)
        var credits: [[SQLiteData]] = []
        for (resource, balance) in effects.balances.sorted(by: { $0.key < $1.key }) {
            let remaining = SQLiteData(balance.remaining)
            switch resource {
            case .seats(let id):
                try await writer.execute(
                    "UPDATE events SET available_seats = ? WHERE id = ?", [remaining, SQLiteData(id)])
            case .stock(let id):
                try await writer.execute("UPDATE products SET stock = ? WHERE id = ?", [remaining, SQLiteData(id)])
            case .credits(let userID):
                credits.append([SQLiteData(userID), SQLiteData(balance.capacity), remaining])
            }
        }
        try await upsert(Tables.creditAccounts, credits)
    }

    /// Inserts rows, updating the table's changeable columns where the key exists, in as few statements as the bind
    /// limit allows.
    private func upsert<Value>(_ table: Table<Value>, _ values: [Value]) async throws {
        let rows = values.map(table.row)
        let rowsPerStatement = Limits.sqlBindsPerStatementMax / table.columns.count
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.endIndex)]
            let values = Array(repeating: Columns.placeholders(table.columns.count), count: chunk.count)
            var sql = "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES "
            sql += values.joined(separator: ", ")
            if !table.updated.isEmpty {
                sql += " ON CONFLICT (\(table.key)) DO UPDATE SET "
                sql += table.updated.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            }
            try await writer.execute(sql, Array(chunk.joined()))
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
    let row: @Sendable (Value) -> [SQLiteData]
}

/// Every table a batch writes.
enum Tables {
    static let users = Table<StoredCredentials>(
        name: "users", columns: ["id", "email", "username", "password_hash", "created_at_ms"]
    ) {
        [
            SQLiteData($0.user.id), .text($0.user.email), .text($0.user.username), .text($0.passwordHash),
            SQLiteData($0.user.createdAt),
        ]
    }

    static let events = Table<Event>(name: "events", columns: Columns.event.split(separator: ", ").map(String.init)) {
        [
            SQLiteData($0.id), .text($0.title), SQLiteData($0.description), SQLiteData($0.date),
            SQLiteData($0.location), SQLiteData($0.seatCount), SQLiteData($0.availableSeats),
            SQLiteData($0.organizerID), SQLiteData($0.createdAt),
        ]
    }

    static let products = Table<Product>(
        name: "products", columns: Columns.product.split(separator: ", ").map(String.init)
    ) {
        [
            SQLiteData($0.id), .text($0.sku), .text($0.name), SQLiteData($0.priceCents), SQLiteData($0.stockTotal),
            SQLiteData($0.stock), SQLiteData($0.createdAt),
        ]
    }

    static let items = Table<Item>(
        name: "items", columns: Columns.item.split(separator: ", ").map(String.init),
        updated: ["current_bid_cents", "highest_bidder_id", "bid_count"]
    ) {
        [
            SQLiteData($0.id), SQLiteData($0.sellerID), .text($0.title), SQLiteData($0.startingPriceCents),
            SQLiteData($0.minIncrementCents), SQLiteData($0.endsAt), SQLiteData($0.currentBidCents),
            SQLiteData($0.highestBidderID), SQLiteData($0.bidCount), SQLiteData($0.createdAt),
        ]
    }

    static let bookings = Table<Booking>(
        name: "bookings", columns: Columns.booking.split(separator: ", ").map(String.init), updated: ["status"]
    ) {
        [
            SQLiteData($0.id), SQLiteData($0.userID), SQLiteData($0.eventID), SQLiteData($0.seatCount),
            .text($0.status.rawValue), SQLiteData($0.expiresAt), SQLiteData($0.createdAt),
        ]
    }

    static let waitlist = Table<WaitlistEntry>(
        name: "waitlist", columns: Columns.waitlistEntry.split(separator: ", ").map(String.init),
        updated: ["status", "offered_booking_id"]
    ) {
        [
            SQLiteData($0.id), SQLiteData($0.eventID), SQLiteData($0.userID), SQLiteData($0.seatCount),
            .text($0.status.rawValue), SQLiteData($0.position), SQLiteData($0.offeredBookingID),
            SQLiteData($0.createdAt),
        ]
    }

    static let orders = Table<Order>(
        name: "orders", columns: Columns.order.split(separator: ", ").map(String.init), updated: ["status"]
    ) {
        [
            SQLiteData($0.id), SQLiteData($0.userID), SQLiteData($0.productID), SQLiteData($0.quantity),
            SQLiteData($0.totalCents), .text($0.status.rawValue), SQLiteData($0.createdAt),
        ]
    }

    static let ledger = Table<LedgerEntry>(
        name: "ledger", columns: Columns.ledgerEntry.split(separator: ", ").map(String.init)
    ) {
        [
            SQLiteData($0.id), SQLiteData($0.userID), .text($0.kind.rawValue), SQLiteData($0.amount),
            SQLiteData($0.balanceAfter), SQLiteData($0.reason), SQLiteData($0.createdAt),
        ]
    }

    static let bids = Table<Bid>(name: "bids", columns: Columns.bid.split(separator: ", ").map(String.init)) {
        [
            SQLiteData($0.itemID), SQLiteData($0.seq), SQLiteData($0.bidderID), SQLiteData($0.amountCents),
            SQLiteData($0.createdAt),
        ]
    }

    static let claimKeys = Table<BatchPlan.StoredClaimKey>(
        name: "claim_keys", columns: ["user_id", "key", "resource_kind", "resource_id", "amount", "grant_id"]
    ) {
        [
            SQLiteData($0.ref.userID), .text($0.ref.key), .text($0.resource.kind.rawValue),
            SQLiteData($0.resource.id), SQLiteData($0.amount), SQLiteData($0.grantID),
        ]
    }

    /// Rows of `[user_id, total, balance]`.
    static let creditAccounts = Table<[SQLiteData]>(
        name: "credit_accounts", columns: ["user_id", "total", "balance"], key: "user_id",
        updated: ["total", "balance"]
    ) { $0 }
}
