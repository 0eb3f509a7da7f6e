import Foundation
import TurnstileCore
import TurnstileStore

/// Reads, inside the write transaction, what a batch's plan needs: the database's half of ``BatchPlan``.
///
/// Each kind of row is read with one statement for the whole batch, so a batch of a thousand claims on one event
/// costs the same handful of statements as a batch of one.
enum BatchInputs {
    static func load(_ needs: BatchPlan.Needs, now: Date, on writer: some SQLSession) async throws -> BatchPlan.Inputs {
        var inputs = BatchPlan.Inputs(now: now)
        let reader = BatchReader(connection: writer)

        inputs.knownUserIDs = Set(
            try await reader.rows("SELECT id FROM users", keyed: "id", in: needs.userIDs).map { $0.int64("id") })
        inputs.takenEmails = Set(
            try await reader.rows("SELECT email FROM users", keyed: "email", in: needs.emails).map {
                $0.string("email")
            })
        inputs.takenSKUs = Set(
            try await reader.rows("SELECT sku FROM products", keyed: "sku", in: needs.skus).map { $0.string("sku") })

        var bookings = Dictionary(
            uniqueKeysWithValues: try await reader.rows(
                "SELECT \(columns: Tables.bookings.columns) FROM bookings", keyed: "id", in: needs.bookingIDs
            ).map { ($0.int64("id"), Tables.bookings.value(of: $0)) })
        let orders = Dictionary(
            uniqueKeysWithValues: try await reader.rows(
                "SELECT \(columns: Tables.orders.columns) FROM orders", keyed: "id", in: needs.orderIDs
            ).map { ($0.int64("id"), Tables.orders.value(of: $0)) })

        // Holds that ran out on the events the batch touches (on every event, for the sweep) are released first.
        let seatEvents = needs.seatEventIDs.union(bookings.values.map(\.eventID))
        let expired: [any SQLRow]
        if needs.sweepsHolds {
            expired = try await writer.query(
                """
                SELECT \(columns: Tables.bookings.columns) FROM bookings WHERE status = 'held' AND expires_at_ms <= \(now)
                ORDER BY expires_at_ms LIMIT \(Limits.holdSweepBookingsMax)
                """)
        } else {
            expired = try await reader.rows(
                "SELECT \(columns: Tables.bookings.columns) FROM bookings",
                where: "status = 'held' AND expires_at_ms <= \(now)", keyed: "event_id", in: seatEvents)
        }
        for booking in expired.map({ Tables.bookings.value(of: $0) }) { bookings[booking.id] = booking }
        inputs.bookings = bookings
        inputs.orders = orders
        let needs = needs.adding(bookings: bookings.values, orders: orders.values)

        for eventID in needs.waitlistEventIDs { inputs.waitlists[eventID] = [] }
        for row in try await reader.rows(
            "SELECT \(columns: Tables.waitlist.columns) FROM waitlist", where: "status = 'waiting'", keyed: "event_id",
            in: needs.waitlistEventIDs, orderBy: "id")
        {
            let entry = Tables.waitlist.value(of: row)
            inputs.waitlists[entry.eventID, default: []].append(entry)
        }

        try await loadBalances(of: needs, into: &inputs, reader: reader)
        try await loadUserSeats(needs.userEvents, into: &inputs, on: writer)
        for row in try await reader.rows(
            "SELECT \(columns: Tables.items.columns) FROM items", keyed: "id", in: needs.itemIDs, locking: true)
        {
            inputs.items[row.int64("id")] = Tables.items.value(of: row)
        }
        try await loadStoredGrants(needs.idempotencyRefs, into: &inputs, on: writer)
        inputs.nextIDs = try await nextIDs(on: writer)
        return inputs
    }

    private static func loadBalances(
        of needs: BatchPlan.Needs, into inputs: inout BatchPlan.Inputs, reader: BatchReader<some SQLSession>
    ) async throws {
        var eventIDs: Set<Int64> = []
        var productIDs: Set<Int64> = []
        var userIDs: Set<Int64> = []
        for resource in needs.resources {
            switch resource {
            case .seats(let id): eventIDs.insert(id)
            case .stock(let id): productIDs.insert(id)
            case .credits(let id): userIDs.insert(id)
            }
        }
        for row in try await reader.rows(
            "SELECT id, seat_count, available_seats, max_seats_per_user FROM events", keyed: "id", in: eventIDs,
            locking: true)
        {
            inputs.balances[.seats(eventID: row.int64("id"))] = ResourceBalance(
                capacity: row.int("seat_count"), remaining: row.int("available_seats"))
            inputs.seatsPerUserMax[row.int64("id")] = row.int("max_seats_per_user")
        }
        for row in try await reader.rows(
            "SELECT \(columns: Tables.products.columns) FROM products", keyed: "id", in: productIDs, locking: true)
        {
            let product = Tables.products.value(of: row)
            inputs.products[product.id] = product
            inputs.balances[product.resource] = ResourceBalance(capacity: product.stockTotal, remaining: product.stock)
        }
        // An account with nothing topped up has no row yet: its balance is zero.
        for userID in userIDs where inputs.knownUserIDs.contains(userID) {
            inputs.balances[.credits(userID: userID)] = ResourceBalance(capacity: 0, remaining: 0)
        }
        for row in try await reader.rows(
            "SELECT user_id, total, balance FROM credit_accounts", keyed: "user_id", in: userIDs, locking: true)
        {
            inputs.balances[.credits(userID: row.int64("user_id"))] = ResourceBalance(
                capacity: row.int("total"), remaining: row.int("balance"))
        }
    }

    /// The seats each user of `shares` holds, has booked and waits for on its event: two statements, each over the
    /// batch's users and events (a superset of the pairs, narrowed here).
    private static func loadUserSeats(
        _ shares: Set<UserEvent>, into inputs: inout BatchPlan.Inputs, on writer: some SQLSession
    ) async throws {
        guard !shares.isEmpty else { return }
        for share in shares { inputs.userSeats[share] = 0 }
        let users = Set(shares.map(\.userID)).map(\.sqlValue)
        let events = Set(shares.map(\.eventID)).map(\.sqlValue)
        let live: [(table: String, live: SQLStatement)] = [
            ("bookings", "status IN ('held', 'confirmed')"), ("waitlist", "status = 'waiting'"),
        ]
        for (table, live) in live {
            let rows = try await writer.query(
                """
                SELECT user_id, event_id, CAST(SUM(seat_count) AS BIGINT) AS seats FROM \(identifier: table)
                WHERE \(live) AND user_id IN \(list: users) AND event_id IN \(list: events)
                GROUP BY user_id, event_id
                """)
            for row in rows {
                let share = UserEvent(userID: row.int64("user_id"), eventID: row.int64("event_id"))
                guard shares.contains(share) else { continue }
                inputs.userSeats[share, default: 0] += row.int("seats")
            }
        }
    }

    private static func loadStoredGrants(
        _ refs: Set<IdempotencyRef>, into inputs: inout BatchPlan.Inputs, on writer: some SQLSession
    ) async throws {
        guard !refs.isEmpty else { return }
        let pairs = refs.map { ref -> SQLStatement in "\(list: [ref.userID.sqlValue, ref.key.sqlValue])" }
        let rows = try await writer.query(
            """
            SELECT user_id, key, resource_kind, resource_id, amount, grant_id, outcome FROM claim_keys
            WHERE (user_id, key) IN (VALUES \(pairs.joined(separator: ", ")))
            """)
        /// The rows the keys made, by the table they are in: a waitlist place, or a grant of its resource's kind.
        var grantIDs: [ResourceKey.Kind?: [IdempotencyRef: Int64]] = [:]
        for row in rows {
            let ref = IdempotencyRef(userID: row.int64("user_id"), key: row.string("key"))
            let kind: ResourceKey.Kind = row.word("resource_kind")
            let outcome: BatchPlan.StoredClaimKey.Outcome = row.word("outcome")
            let grantID = row.int64("grant_id")
            inputs.storedGrants[ref] = KeyedGrant(
                resource: ResourceKey(kind: kind, id: row.int64("resource_id")), amount: row.int("amount"),
                origin: .stored(grantID: grantID))
            grantIDs[outcome == .waitlisted ? nil : kind, default: [:]][ref] = grantID
        }
        let reader = BatchReader(connection: writer)
        for (kind, refsByID) in grantIDs {
            let ids = Set(refsByID.values)
            let records: [Int64: BatchPlan.GrantRecord]
            switch kind {
            case nil:
                records = Dictionary(
                    uniqueKeysWithValues: try await reader.rows(
                        "SELECT \(columns: Tables.waitlist.columns) FROM waitlist", keyed: "id", in: ids
                    ).map { ($0.int64("id"), .waitlistEntry(Tables.waitlist.value(of: $0))) })
            case .seats:
                records = Dictionary(
                    uniqueKeysWithValues: try await reader.rows(
                        "SELECT \(columns: Tables.bookings.columns) FROM bookings", keyed: "id", in: ids
                    ).map { ($0.int64("id"), .booking(Tables.bookings.value(of: $0))) })
            case .stock:
                records = Dictionary(
                    uniqueKeysWithValues: try await reader.rows(
                        "SELECT \(columns: Tables.orders.columns) FROM orders", keyed: "id", in: ids
                    ).map { ($0.int64("id"), .order(Tables.orders.value(of: $0))) })
            case .credits:
                records = Dictionary(
                    uniqueKeysWithValues: try await reader.rows(
                        "SELECT \(columns: Tables.ledger.columns) FROM ledger", keyed: "id", in: ids
                    ).map { ($0.int64("id"), .ledgerEntry(Tables.ledger.value(of: $0))) })
            }
            for (ref, grantID) in refsByID { inputs.storedGrantRecords[ref] = records[grantID] }
        }
    }

    /// The next id of every table, in one statement: each is a lookup of the last key of its primary index.
    private static func nextIDs(on writer: some SQLSession) async throws -> BatchPlan.NextIDs {
        // Each table's next id is selected as `next_<table>` (plain `user` and `order` are reserved words in SQL).
        let tables = ["users", "events", "bookings", "products", "orders", "ledger", "items", "waitlist"]
        let selects = tables.map { table -> SQLStatement in
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM \(identifier: table)) AS \(identifier: "next_" + table)"
        }
        let row = try await writer.query("SELECT \(selects.joined(separator: ", "))")[0]
        var next = BatchPlan.NextIDs()
        next.user = row.int64("next_users")
        next.event = row.int64("next_events")
        next.booking = row.int64("next_bookings")
        next.product = row.int64("next_products")
        next.order = row.int64("next_orders")
        next.ledgerEntry = row.int64("next_ledger")
        next.item = row.int64("next_items")
        next.waitlistEntry = row.int64("next_waitlist")
        return next
    }
}

/// Runs `SELECT … WHERE column IN (…)` for a set of keys, skipping the statement when the set is empty.
struct BatchReader<Session: SQLSession> {
    let connection: Session

    /// `select` (up to its `FROM`), narrowed by `condition` if given and to the rows whose `column` is one of `keys`.
    /// With `locking`, the rows stay locked until the transaction ends: each resource a batch claims from is locked
    /// once, by the statement that reads its balance.
    func rows(
        _ select: SQLStatement, where condition: SQLStatement? = nil, keyed column: String,
        in keys: Set<some SQLBindable & Hashable>, orderBy: String? = nil, locking: Bool = false
    ) async throws -> [any SQLRow] {
        guard !keys.isEmpty else { return [] }
        var statement = select + " WHERE "
        if let condition { statement += "\(condition) AND " }
        statement += "\(identifier: column) IN \(list: keys.map(\.sqlValue))"
        if let orderBy { statement += " ORDER BY \(identifier: orderBy)" }
        if locking { statement += connection.rowLock }
        return try await connection.query(statement)
    }
}
