import Foundation
import Testing
import TurnstileCore
import TurnstileStore

@Suite("InMemoryStore")
struct InMemoryStoreTests {
    @Test("books exactly, replays keyed bookings and returns seats on cancel")
    func bookAndCancel() async throws {
        let store = InMemoryStore()
        let user = try await store.register(
            Registration(email: "a@b.io", username: "ada", password: "password1"), passwordHash: "h")
        let event = try await store.createEvent(
            try NewEvent(title: "Gig", description: nil, date: Date(), location: nil, seatCount: 3),
            organizerID: user.id)

        let request = try BookingRequest(eventID: event.id, seatCount: 2, userID: user.id, idempotencyKey: "k")
        guard case .created(let first) = try await store.book(request) else {
            Issue.record("the first booking was not created")
            return
        }
        #expect(try await store.book(request) == .replayed(first))
        await #expect(throws: TurnstileError.soldOut(requested: 2, available: 1)) {
            try await store.book(BookingRequest(eventID: event.id, seatCount: 2, userID: user.id, idempotencyKey: nil))
        }
        #expect(store.event(id: event.id)?.availableSeats == 1)

        #expect(try await store.cancelBooking(id: first.id, userID: user.id).status == .cancelled)
        #expect(try await store.cancelBooking(id: first.id, userID: user.id).status == .cancelled)
        #expect(store.event(id: event.id)?.availableSeats == 3)
        let other = try await store.register(
            Registration(email: "b@b.io", username: "bob", password: "password1"), passwordHash: "h")
        await #expect(throws: TurnstileError.notFound(entity: "booking", id: first.id)) {
            try await store.cancelBooking(id: first.id, userID: other.id)
        }
        await #expect(throws: TurnstileError.accountGone) {
            try await store.cancelBooking(id: first.id, userID: 999)
        }
    }

    @Test("a keyed waitlist join is replayed from the stored key, as on the SQL stores")
    func waitlistJoinReplays() async throws {
        let store = InMemoryStore()
        let user = try await store.register(
            Registration(email: "a@b.io", username: "ada", password: "password1"), passwordHash: "h")
        let event = try await store.createEvent(
            try NewEvent(title: "Gig", description: nil, date: Date(), location: nil, seatCount: 1),
            organizerID: user.id)
        _ = try await store.book(BookingRequest(eventID: event.id, seatCount: 1, userID: user.id, idempotencyKey: nil))
        let join = try BookingRequest(
            eventID: event.id, seatCount: 1, userID: user.id, idempotencyKey: "line", joinsWaitlist: true)
        let first = try await store.book(join)
        guard case .waitlisted(let place) = first else {
            Issue.record("the request did not join the waitlist: \(first)")
            return
        }
        #expect(try await store.book(join) == .waitlistReplayed(place))
    }
}
