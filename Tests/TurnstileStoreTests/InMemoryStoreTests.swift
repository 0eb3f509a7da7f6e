import Foundation
import Testing
import TurnstileCore
import TurnstileStore

@Suite("InMemoryStore")
struct InMemoryStoreTests {
    @Test("books exactly, replays keyed bookings and returns seats on cancel")
    func bookAndCancel() throws {
        let store = InMemoryStore()
        let user = try store.register(
            Registration(email: "a@b.io", username: "ada", password: "password1"), passwordHash: "h")
        let event = store.createEvent(
            try NewEvent(title: "Gig", description: nil, date: Date(), location: nil, seatCount: 3),
            organizerID: user.id)

        let first = try store.book(
            BookingRequest(eventID: event.id, seatCount: 2, userID: user.id, idempotencyKey: "k"))
        let replay = try store.book(
            BookingRequest(eventID: event.id, seatCount: 2, userID: user.id, idempotencyKey: "k"))
        #expect(replay == .replayed(first.booking))
        #expect(throws: TurnstileError.soldOut(requested: 2, available: 1)) {
            try store.book(BookingRequest(eventID: event.id, seatCount: 2, userID: user.id, idempotencyKey: nil))
        }
        #expect(store.event(id: event.id)?.availableSeats == 1)

        #expect(try store.cancelBooking(id: first.booking.id, userID: user.id).status == .cancelled)
        #expect(try store.cancelBooking(id: first.booking.id, userID: user.id).status == .cancelled)
        #expect(store.event(id: event.id)?.availableSeats == 3)
        let other = try store.register(
            Registration(email: "b@b.io", username: "bob", password: "password1"), passwordHash: "h")
        #expect(throws: TurnstileError.notFound(entity: "booking", id: first.booking.id)) {
            try store.cancelBooking(id: first.booking.id, userID: other.id)
        }
        #expect(throws: TurnstileError.accountGone) {
            try store.cancelBooking(id: first.booking.id, userID: 999)
        }
    }
}
