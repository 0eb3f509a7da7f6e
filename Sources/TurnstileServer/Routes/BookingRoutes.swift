import HTTPTypes
import Hummingbird
import TurnstileCore
import TurnstileStore

/// `POST /bookings/`, `GET /bookings/` (mine) and `DELETE /bookings/{id}`, all authenticated.
struct BookingRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on group: RouterGroup<TurnstileRequestContext>) {
        group.post { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewBookingBody.self)
            let booking = try BookingRequest(
                eventID: body.eventID, seatCount: body.seatCount, userID: userID,
                idempotencyKey: request.headers[.idempotencyKey])
            let outcome = try await store.book(booking)
            var headers = HTTPFields()
            if case .replayed = outcome { headers[.idempotentReplayed] = "true" }
            return EditedResponse(status: .created, headers: headers, response: BookingResponse(outcome.booking))
        }
        group.get { _, context in
            let userID = try context.requireUserID()
            return BookingListResponse(bookings: try await store.bookings(userID: userID).map(BookingResponse.init))
        }
        group.delete(":id") { request, context in
            let userID = try context.requireUserID()
            let id = try request.pathID("id", context: context)
            return BookingResponse(try await store.cancelBooking(id: id, userID: userID))
        }
    }
}

extension HTTPField.Name {
    /// The client's key that makes a write safe to retry.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// Sent on the answer to a request whose `Idempotency-Key` matched an earlier booking.
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
