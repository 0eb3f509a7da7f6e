import Foundation
import SQLiteNIO
import Testing
import TurnstileCore
import TurnstileSQL
import TurnstileStore

@testable import TurnstileSQLite

@Suite("SQLiteStore", .timeLimit(.minutes(1)))
struct SQLiteStoreTests {
    @Test("100 concurrent bookings on 10 seats: exactly 10 granted, 90 sold out, 10 rows, 0 left")
    func exactUnderConcurrency() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, userIDs) = try await seed(store, seats: 10, users: 100)
                let outcomes = await withTaskGroup(of: Result<BookingOutcome, TurnstileError>.self) { group in
                    for userID in userIDs {
                        group.addTask {
                            let request = try! BookingRequest(
                                eventID: event.id, seatCount: 1, userID: userID, idempotencyKey: nil)
                            do throws(TurnstileError) {
                                return .success(try await store.book(request))
                            } catch { return .failure(error) }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                let granted = outcomes.filter { if case .success(.created) = $0 { true } else { false } }
                let soldOut = outcomes.filter {
                    if case .failure(.soldOut(requested: 1, available: 0)) = $0 { true } else { false }
                }
                #expect(granted.count == 10)
                #expect(soldOut.count == 90)
                #expect(try await store.event(id: event.id)?.availableSeats == 0)
                let rows = try await store.writer.query(
                    "SELECT COUNT(*) AS n, SUM(seat_count) AS seats FROM bookings WHERE event_id = ?", [.init(event.id)]
                )
                #expect(rows[0].int("n") == 10)
                #expect(rows[0].int("seats") == 10)
            }
        }
    }

    @Test("the same idempotency key sent 50 times at once makes one booking; later replays return it")
    func idempotentReplays() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, userIDs) = try await seed(store, seats: 5, users: 1)
                let request = try BookingRequest(
                    eventID: event.id, seatCount: 2, userID: userIDs[0], idempotencyKey: "k1")
                let bookings = try await withThrowingTaskGroup(of: Booking.self) { group in
                    for _ in 0..<50 { group.addTask { try await store.book(request).booking! } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(Set(bookings.map(\.id)).count == 1)
                #expect(try await store.book(request) == .replayed(bookings[0]))
                #expect(try await store.event(id: event.id)?.availableSeats == 3)
                await #expect(throws: TurnstileError.idempotencyKeyReused) {
                    try await store.book(
                        BookingRequest(eventID: event.id, seatCount: 1, userID: userIDs[0], idempotencyKey: "k1"))
                }
            }
        }
    }

    @Test("cancelling returns seats once; another user's booking is not found")
    func cancellation() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, userIDs) = try await seed(store, seats: 4, users: 2)
                let booking = try await store.book(
                    BookingRequest(eventID: event.id, seatCount: 3, userID: userIDs[0], idempotencyKey: nil)
                ).booking!
                await #expect(throws: TurnstileError.notFound(entity: "booking", id: booking.id)) {
                    try await store.cancelBooking(id: booking.id, userID: userIDs[1])
                }
                #expect(try await store.cancelBooking(id: booking.id, userID: userIDs[0]).status == .cancelled)
                #expect(try await store.cancelBooking(id: booking.id, userID: userIDs[0]).status == .cancelled)
                #expect(try await store.event(id: event.id)?.availableSeats == 4)
                #expect(try await store.bookings(userID: userIDs[0]).map(\.status) == [.cancelled])
            }
        }
    }

    @Test("unknown events and taken emails are refused as values")
    func refusals() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                _ = try await seed(store, seats: 1, users: 1)
                await #expect(throws: TurnstileError.notFound(entity: "event", id: 999)) {
                    try await store.book(BookingRequest(eventID: 999, seatCount: 1, userID: 1, idempotencyKey: nil))
                }
                await #expect(throws: TurnstileError.emailTaken) {
                    try await store.register(
                        Registration(email: "U0@t.io", username: "again", password: "password1"), passwordHash: "h")
                }
            }
        }
    }

    @Test("everything committed survives closing and reopening the file, the store's identity too")
    func survivesRestart() async throws {
        try await withTemporaryDatabase { configuration in
            let (eventID, bookingID, identity) = try await SQLiteStore.withStore(configuration) { store in
                let (event, userIDs) = try await seed(store, seats: 10, users: 1)
                let booking = try await store.book(
                    BookingRequest(eventID: event.id, seatCount: 4, userID: userIDs[0], idempotencyKey: "again"))
                return (event.id, booking.booking!.id, store.identity)
            }
            try await SQLiteStore.withStore(configuration) { store in
                #expect(store.identity == identity)
                #expect(try await store.event(id: eventID)?.availableSeats == 6)
                let replay = try await store.book(
                    BookingRequest(eventID: eventID, seatCount: 4, userID: 1, idempotencyKey: "again"))
                #expect(replay.booking?.id == bookingID)
                #expect(try await store.credentials(email: "u0@t.io")?.passwordHash == "hash")
                let page = try await store.events(PageRequest(page: 1, pageSize: 10))
                #expect(page.total == 1 && page.items.map(\.id) == [eventID])
            }
        }
    }

    @Test("a write for an account that no longer exists fails alone; the rest of its batch commits")
    func accountGone() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, userIDs) = try await seed(store, seats: 50, users: 20)
                let outcomes = await withTaskGroup(of: (Int64, Result<BookingOutcome, TurnstileError>).self) { group in
                    for userID in userIDs + [9_999] {
                        group.addTask {
                            let request = try! BookingRequest(
                                eventID: event.id, seatCount: 1, userID: userID, idempotencyKey: nil)
                            do throws(TurnstileError) {
                                return (userID, .success(try await store.book(request)))
                            } catch { return (userID, .failure(error)) }
                        }
                    }
                    return await group.reduce(into: [Int64: Result<BookingOutcome, TurnstileError>]()) {
                        $0[$1.0] = $1.1
                    }
                }
                #expect(outcomes[9_999].map { if case .failure(.accountGone) = $0 { true } else { false } } == true)
                #expect(userIDs.allSatisfy { if case .success(.created) = outcomes[$0] { true } else { false } })
                #expect(try await store.event(id: event.id)?.availableSeats == 30)
            }
        }
    }

    @Test("the schema's CHECK constraints refuse an oversold event even if the allocator were bypassed")
    func checkConstraints() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, _) = try await seed(store, seats: 2, users: 1)
                for seats in [-1, 3] {
                    await #expect {
                        try await store.writer.execute(
                            "UPDATE events SET available_seats = ? WHERE id = ?", [.init(seats), .init(event.id)])
                    } throws: { error in
                        (error as? SQLiteError)?.message.contains("CHECK constraint failed") == true
                    }
                }
                #expect(try await store.event(id: event.id)?.availableSeats == 2)
            }
        }
    }

    @Test("the bids trigger refuses, even behind the decision rules' back, a bid that does not beat the last one")
    func bidsTrigger() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (_, userIDs) = try await seed(store, seats: 1, users: 1)
                let item = try await store.createItem(
                    try NewItem(
                        title: "Lamp", startingPriceCents: 100, minIncrementCents: 1, endsAt: nil, now: Date()),
                    sellerID: userIDs[0])
                let insert =
                    "INSERT INTO bids (item_id, seq, bidder_id, amount_cents, created_at_ms) VALUES (?, ?, ?, ?, 0)"
                func bid(seq: Int, amount: Int) async throws {
                    try await store.writer.execute(
                        insert, [.init(item.id), .init(seq), .init(userIDs[0]), .init(amount)])
                }
                try await bid(seq: 5, amount: 100)
                try await bid(seq: 6, amount: 150)
                // Not higher than the last; higher but numbered before it; equal to it.
                for (seq, amount) in [(7, 120), (4, 500), (7, 150)] {
                    await #expect {
                        try await bid(seq: seq, amount: amount)
                    } throws: { error in
                        (error as? SQLiteError)?.message.contains("must come after and beat") == true
                    }
                }
                try await bid(seq: 7, amount: 151)
                let stored = try await store.bids(itemID: item.id).map(\.amountCents)
                #expect(stored == [100, 150, 151])
            }
        }
    }
}

extension SQLiteStoreTests {
    /// Reads that run beside other reads on the same connection would share that connection's read transaction, and
    /// with it a snapshot older than a write the reader has already seen acknowledged.
    @Test("read your writes: an acknowledged registration is found at once, however busy the readers are")
    func readYourWrites() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, _) = try await seed(store, seats: 10, users: 1)
                let missing = try await withThrowingTaskGroup(of: Int.self) { group in
                    // Keep every reader connection busy with reads that take a while.
                    for _ in 0..<8 {
                        group.addTask {
                            for _ in 0..<200 {
                                _ = try await store.events(PageRequest(page: 1, pageSize: 100))
                                _ = try await store.event(id: event.id)
                            }
                            return 0
                        }
                    }
                    for worker in 0..<8 {
                        group.addTask {
                            var missing = 0
                            for index in 0..<60 {
                                let email = "ryw\(worker)x\(index)@t.io"
                                _ = try await store.register(
                                    Registration(
                                        email: email, username: "ryw\(worker)x\(index)", password: "password1"),
                                    passwordHash: "h")
                                if try await store.credentials(email: email) == nil { missing += 1 }
                            }
                            return missing
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(missing == 0)
            }
        }
    }
}
