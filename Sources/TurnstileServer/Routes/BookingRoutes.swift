import HTTPTypes
import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// `POST /bookings/` (outright, as a hold, or onto the waitlist), `GET /bookings/` (mine), `DELETE /bookings/{id}` and
/// `POST /bookings/{id}/confirm`, all authenticated.
struct BookingRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on routes: EndpointRoutes) {
        routes.on(.book) { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewBookingBody.self, context: context)
            let booking = try BookingRequest(
                eventID: body.eventID, seatCount: body.seatCount, userID: userID,
                idempotencyKey: request.headers[.idempotencyKey], holdSeconds: body.holdSeconds,
                joinsWaitlist: body.waitlist)
            switch try await store.book(booking) {
            case .created(let booking):
                return try Self.respond(status: .created, BookingResponse(booking), request: request, context: context)
            case .replayed(let booking):
                return try Self.respond(
                    status: .created, headers: [.idempotentReplayed: "true"], BookingResponse(booking),
                    request: request, context: context)
            case .waitlisted(let entry):
                return try Self.respond(status: .accepted, WaitlistResponse(entry), request: request, context: context)
            case .waitlistReplayed(let entry):
                return try Self.respond(
                    status: .accepted, headers: [.idempotentReplayed: "true"], WaitlistResponse(entry),
                    request: request, context: context)
            }
        }
        routes.on(.confirmBooking) { request, context in
            let userID = try context.requireUserID()
            let id = try request.pathID("id", context: context)
            return BookingResponse(try await store.confirmBooking(id: id, userID: userID))
        }
        routes.on(.listBookings) { _, context in
            let userID = try context.requireUserID()
            return BookingListResponse(bookings: try await store.bookings(userID: userID).map(BookingResponse.init))
        }
        routes.on(.cancelBooking) { request, context in
            let userID = try context.requireUserID()
            let id = try request.pathID("id", context: context)
            return BookingResponse(try await store.cancelBooking(id: id, userID: userID))
        }
    }
}

extension BookingRoutes {
    /// A response with a status other than 200.
    static func respond(
        status: HTTPResponse.Status, headers: HTTPFields = [:], _ body: some ResponseEncodable, request: Request,
        context: TurnstileRequestContext
    ) throws -> Response {
        try EditedResponse(status: status, headers: headers, response: body).response(from: request, context: context)
    }
}

extension HTTPField.Name {
    /// The client's key that makes a write safe to retry.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// Sent on the answer to a request whose `Idempotency-Key` matched an earlier booking.
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
