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
    /// commit.
    func commit(_ batch: [WriteCommand]) async throws(TurnstileError) -> [WriteResult] {
        do {
            try await writer.execute("BEGIN IMMEDIATE")
            do {
                let results = try await apply(batch)
                try await writer.execute("COMMIT")
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

    private func apply(_ batch: [WriteCommand]) async throws -> [WriteResult] {
        // Truncated to what the store keeps, so a value answered now equals the same value read back later.
        let now = Date(millisecondsSince1970: clock().millisecondsSince1970)
        let loaded = try await BatchInputs.load(BatchPlan.needs(of: batch), on: writer)
        var plan = BatchPlan(loaded.inputs)
        var results = [WriteResult?](repeating: nil, count: batch.count)

        for (index, command) in batch.enumerated() {
            // A write for an account that is gone fails alone; let through, its foreign key would fail the batch.
            if let refusal = plan.refusal(for: command) {
                results[index] = refusal
                continue
            }
            switch command {
            case .register(let registration, let passwordHash):
                results[index] = try await insertUser(registration, passwordHash: passwordHash, now: now)
            case .createEvent(let event, let organizerID):
                let created = try await insertEvent(event, organizerID: organizerID, now: now)
                plan.add(created)
                results[index] = .success(.event(created))
            case .book(let claim):
                results[index] = plan.decide(claim, commandIndex: index)
            case .cancelBooking(let id, let userID):
                results[index] = plan.cancel(bookingID: id, userID: userID)
            }
        }

        let created = try await insertGrants(plan.grants, firstID: loaded.nextBookingID, now: now)
        plan.complete(&results, created: created)
        if !plan.cancelledBookingIDs.isEmpty {
            let ids = plan.cancelledBookingIDs.map { SQLiteData($0) }
            try await writer.execute(
                "UPDATE bookings SET status = 'cancelled' WHERE id IN \(Columns.placeholders(ids.count))", ids)
        }
        for eventID in plan.allocator.changedResourceIDs.sorted() {
            let remaining = plan.allocator.balances[eventID]!.remaining
            try await writer.execute(
                "UPDATE events SET available_seats = ? WHERE id = ?", [SQLiteData(remaining), SQLiteData(eventID)])
        }
        return results.map { result in
            guard let result else { preconditionFailure("every write of a batch gets a result") }
            return result
        }
    }

    private func insertUser(_ registration: Registration, passwordHash: String, now: Date) async throws -> WriteResult {
        let rows = try await writer.query(
            """
            INSERT INTO users (email, username, password_hash, created_at_ms) VALUES (?, ?, ?, ?)
            ON CONFLICT (email) DO NOTHING RETURNING \(Columns.user)
            """,
            [.text(registration.email), .text(registration.username), .text(passwordHash), SQLiteData(now)])
        guard let row = rows.first else { return .failure(.emailTaken) }
        return .success(.user(row.user()))
    }

    private func insertEvent(_ event: NewEvent, organizerID: Int64, now: Date) async throws -> Event {
        let rows = try await writer.query(
            """
            INSERT INTO events (title, description, date_ms, location, seat_count, available_seats, organizer_id,
                created_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING \(Columns.event)
            """,
            [
                .text(event.title), SQLiteData(event.description), SQLiteData(event.date), SQLiteData(event.location),
                SQLiteData(event.seatCount), SQLiteData(event.seatCount), SQLiteData(organizerID), SQLiteData(now),
            ])
        return rows[0].event()
    }

    /// Inserts every granted booking with one statement, and their idempotency keys with another.
    ///
    /// Ids are assigned here, following the largest id in the table (read with the balances, or here when the
    /// batch's events were all created within it): the writer holds SQLite's write lock, so no one else can insert
    /// meanwhile, and the ids are known without relying on the order of `RETURNING` rows.
    private func insertGrants(_ grants: [BatchPlan.Grant], firstID: Int64?, now: Date) async throws -> [Int: Booking] {
        guard !grants.isEmpty else { return [:] }
        var firstID = firstID ?? 0
        if firstID == 0 {
            let next = try await writer.query("SELECT COALESCE(MAX(id), 0) + 1 AS next FROM bookings")
            firstID = next[0].int64("next")
        }
        var created: [Int: Booking] = [:]
        var bookingBinds: [SQLiteData] = []
        var keyBinds: [SQLiteData] = []
        for (offset, grant) in grants.enumerated() {
            let booking = Booking(
                id: firstID + Int64(offset), userID: grant.claim.userID, eventID: grant.claim.resourceID,
                seatCount: grant.claim.amount, status: .confirmed, createdAt: now)
            created[grant.commandIndex] = booking
            bookingBinds += [
                SQLiteData(booking.id), SQLiteData(booking.userID), SQLiteData(booking.eventID),
                SQLiteData(booking.seatCount), .text(booking.status.rawValue), SQLiteData(now),
            ]
            if let key = grant.claim.idempotencyKey {
                keyBinds += [SQLiteData(booking.userID), .text(key), SQLiteData(booking.id)]
            }
        }
        let bookingRows = Array(repeating: Columns.placeholders(6), count: grants.count).joined(separator: ", ")
        try await writer.execute(
            "INSERT INTO bookings (\(Columns.booking)) VALUES \(bookingRows)", bookingBinds)
        if !keyBinds.isEmpty {
            let keyRows = Array(repeating: Columns.placeholders(3), count: keyBinds.count / 3).joined(separator: ", ")
            try await writer.execute(
                "INSERT INTO idempotency_keys (user_id, key, booking_id) VALUES \(keyRows)", keyBinds)
        }
        return created
    }
}

/// Reads, inside the write transaction, what a batch's plan needs: SQLite's half of ``BatchPlan``.
struct BatchInputs {
    let inputs: BatchPlan.Inputs
    /// The id the batch's first new booking gets, read with the balances; nil if no balance was read.
    let nextBookingID: Int64?

    static func load(_ needs: BatchPlan.Needs, on writer: SQLiteConnection) async throws -> BatchInputs {
        var eventIDs = needs.eventIDs

        var knownUserIDs = Set<Int64>()
        if !needs.userIDs.isEmpty {
            let ids = needs.userIDs.map { SQLiteData($0) }
            let rows = try await writer.query(
                "SELECT id FROM users WHERE id IN \(Columns.placeholders(ids.count))", ids)
            knownUserIDs = Set(rows.map { $0.int64("id") })
        }

        var cancellable: [Int64: Booking] = [:]
        if !needs.bookingIDs.isEmpty {
            let ids = needs.bookingIDs.map { SQLiteData($0) }
            let rows = try await writer.query(
                "SELECT \(Columns.booking) FROM bookings WHERE id IN \(Columns.placeholders(ids.count))", ids)
            for booking in rows.map({ $0.booking() }) {
                cancellable[booking.id] = booking
                eventIDs.insert(booking.eventID)
            }
        }

        var storedGrants: [IdempotencyRef: KeyedGrant] = [:]
        var storedBookings: [Int64: Booking] = [:]
        if !needs.idempotencyRefs.isEmpty {
            let pairs = Array(needs.idempotencyRefs)
            let values = Array(repeating: "(?, ?)", count: pairs.count).joined(separator: ", ")
            let binds = pairs.flatMap { [SQLiteData($0.userID), SQLiteData.text($0.key)] }
            let rows = try await writer.query(
                """
                SELECT k.key AS key, b.id, b.user_id, b.event_id, b.seat_count, b.status, b.created_at_ms
                FROM idempotency_keys k JOIN bookings b ON b.id = k.booking_id
                WHERE (k.user_id, k.key) IN (VALUES \(values))
                """, binds)
            for row in rows {
                let booking = row.booking()
                storedBookings[booking.id] = booking
                storedGrants[IdempotencyRef(userID: booking.userID, key: row.string("key"))] = KeyedGrant(
                    resourceID: booking.eventID, amount: booking.seatCount, origin: .stored(grantID: booking.id))
            }
        }

        var balances: [Int64: ResourceBalance] = [:]
        var nextBookingID: Int64?
        if !eventIDs.isEmpty {
            // The next booking id rides along, saving the writer a statement per batch.
            let ids = eventIDs.map { SQLiteData($0) }
            let rows = try await writer.query(
                """
                SELECT id, seat_count, available_seats,
                    (SELECT COALESCE(MAX(id), 0) + 1 FROM bookings) AS next_booking_id
                FROM events WHERE id IN \(Columns.placeholders(ids.count))
                """, ids)
            for row in rows {
                balances[row.int64("id")] = ResourceBalance(
                    capacity: row.int("seat_count"), remaining: row.int("available_seats"))
                nextBookingID = row.int64("next_booking_id")
            }
        }
        return BatchInputs(
            inputs: BatchPlan.Inputs(
                balances: balances, storedGrants: storedGrants, storedBookings: storedBookings,
                cancellable: cancellable, knownUserIDs: knownUserIDs),
            nextBookingID: nextBookingID)
    }
}
