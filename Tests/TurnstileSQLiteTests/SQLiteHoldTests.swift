import Foundation
import Synchronization
import Testing
import TurnstileCore
import TurnstileSQL
import TurnstileStore

@testable import TurnstileSQLite

/// A clock the test moves by hand, so expiry is tested without waiting.
private final class ManualClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_900_000_000))
    var read: @Sendable () -> Date { { self.now.withLock { $0 } } }
    func advance(seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("SQLite holds and waitlist", .timeLimit(.minutes(1)))
struct SQLiteHoldTests {
    @Test("a hold that runs out while the service is down is released after the restart, and cannot be confirmed")
    func expiryAcrossRestart() async throws {
        try await withTemporaryDatabase { configuration in
            let clock = ManualClock()
            let (eventID, users, holdID) = try await SQLiteStore.withStore(configuration, clock: clock.read) { store in
                let (event, users) = try await seed(store, seats: 3, users: 2)
                let eventID = event.id
                let outcome = try await store.book(
                    BookingRequest(
                        eventID: eventID, seatCount: 2, userID: users[1], idempotencyKey: nil, holdSeconds: 60))
                let hold = try #require(outcome.booking)
                #expect(hold.status == .held)
                #expect(try await store.event(id: eventID)?.availableSeats == 1)
                return (eventID, users, hold.id)
            }
            clock.advance(seconds: 61)
            try await SQLiteStore.withStore(configuration, clock: clock.read) { store throws in
                // Nothing released it in memory: the expiry is in the file, and the sweep finds it.
                let before = try await store.event(id: eventID)?.availableSeats
                let expired = try await store.expireHolds()
                let after = try await store.event(id: eventID)?.availableSeats
                #expect(before == 1 && expired == 1 && after == 3)
                await #expect(throws: TurnstileError.holdExpired(bookingID: holdID)) {
                    try await store.confirmBooking(id: holdID, userID: users[1])
                }
                let status = try await store.bookings(userID: users[1]).first?.status
                #expect(status == .expired)
            }
        }
    }

    @Test("a claim that would be refused releases the event's holds that ran out first")
    func claimReleasesExpiredHolds() async throws {
        try await withTemporaryDatabase { configuration in
            let clock = ManualClock()
            try await SQLiteStore.withStore(configuration, clock: clock.read) { store in
                let (event, users) = try await seed(store, seats: 2, users: 2)
                let eventID = event.id
                _ = try await store.book(
                    BookingRequest(
                        eventID: eventID, seatCount: 2, userID: users[0], idempotencyKey: nil, holdSeconds: 5))
                await #expect(throws: TurnstileError.soldOut(requested: 2, available: 0)) {
                    try await store.book(
                        BookingRequest(eventID: eventID, seatCount: 2, userID: users[1], idempotencyKey: nil))
                }
                clock.advance(seconds: 5)
                let outcome = try await store.book(
                    BookingRequest(eventID: eventID, seatCount: 2, userID: users[1], idempotencyKey: nil))
                #expect(outcome.booking?.status == .confirmed)
                #expect(try await store.event(id: eventID)?.availableSeats == 0)
            }
        }
    }

    @Test("a cancellation on a sold-out event offers its seats to the waitlist in order, as a hold, and announces it")
    func waitlistPromotion() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let announced = Mutex<[LiveChange]>([])
                store.changes.observe { changes in announced.withLock { $0 += changes } }
                let (event, users) = try await seed(store, seats: 1, users: 3)
                let eventID = event.id
                let taken = try #require(
                    try await store.book(
                        BookingRequest(eventID: eventID, seatCount: 1, userID: users[0], idempotencyKey: nil)
                    )
                    .booking)
                var entries: [WaitlistEntry] = []
                for user in users.dropFirst() {
                    let outcome = try await store.book(
                        BookingRequest(
                            eventID: eventID, seatCount: 1, userID: user, idempotencyKey: nil, joinsWaitlist: true))
                    guard case .waitlisted(let entry) = outcome else {
                        Issue.record("a request on a sold-out event did not join its waitlist: \(outcome)")
                        return
                    }
                    entries.append(entry)
                }
                #expect(entries.map(\.position) == [1, 2])

                _ = try await store.cancelBooking(id: taken.id, userID: users[0])
                let offered = try #require(try await store.bookings(userID: users[1]).first)
                #expect(offered.status == .held && offered.expiresAt != nil)
                #expect(try await store.bookings(userID: users[2]).isEmpty, "the second in line still waits")
                #expect(try await store.event(id: eventID)?.availableSeats == 0)
                let offers = announced.withLock { $0 }.filter { if case .waitlistOffer = $0 { true } else { false } }
                #expect(offers == [.waitlistOffer(entries[0].offered(bookingID: offered.id), hold: offered)])
            }
        }
    }
}
