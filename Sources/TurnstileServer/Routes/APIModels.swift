import Foundation
import Hummingbird
import TurnstileCore
import TurnstileWire

// The API's wire shapes are TurnstileWire's, shared with the engine; here they are made from the domain's values
// and answered as responses.

extension UserResponse: ResponseEncodable {}
extension TokenResponse: ResponseEncodable {}
extension EventResponse: ResponseEncodable {}
extension PageResponse: ResponseEncodable {}
extension BookingResponse: ResponseEncodable {}
extension WaitlistResponse: ResponseEncodable {}
extension BookingListResponse: ResponseEncodable {}
extension StatusResponse: ResponseEncodable {}
extension IndexResponse: ResponseEncodable {}
extension ProductResponse: ResponseEncodable {}
extension OrderResponse: ResponseEncodable {}
extension OrderListResponse: ResponseEncodable {}
extension SummaryResponse: ResponseEncodable {}
extension BalanceResponse: ResponseEncodable {}
extension LedgerEntryResponse: ResponseEncodable {}
extension CreditChangeResponse: ResponseEncodable {}
extension TransactionListResponse: ResponseEncodable {}
extension ItemResponse: ResponseEncodable {}
extension BidResponse: ResponseEncodable {}
extension BidListResponse: ResponseEncodable {}

extension UserResponse {
    init(_ user: User) {
        self.init(id: user.id, email: user.email, username: user.username, createdAt: user.createdAt)
    }
}

extension EventResponse {
    init(_ event: Event) {
        self.init(
            id: event.id, title: event.title, description: event.description, date: event.date,
            location: event.location, seatCount: event.seatCount, availableSeats: event.availableSeats,
            organizerID: event.organizerID, createdAt: event.createdAt, seatsPerUserMax: event.seatsPerUserMax)
    }
}

extension PageResponse {
    init<Value>(_ page: Page<Value>, _ response: (Value) -> Item) {
        self.init(
            items: page.items.map(response), total: page.total, page: page.request.page,
            pageSize: page.request.pageSize)
    }
}

extension NewBookingBody: FlatJSONDecodable {
    /// The common bodies (`{"event_id": 7, "seat_count": 2}`, perhaps with a hold or the waitlist), read as
    /// ``init(from:)`` reads them; anything less plain is left to it.
    init?(flat members: [String: FlatJSON.Value]) {
        guard members.keys.allSatisfy({ CodingKeys(stringValue: $0) != nil }),
            case .integer(let eventID) = members["event_id"], case .integer(let seats) = members["seat_count"],
            let seatCount = Int(exactly: seats)
        else { return nil }
        let holdSeconds: Int?
        switch members["hold_seconds"] {
        case nil, .null: holdSeconds = nil
        case .integer(let seconds): holdSeconds = Int(exactly: seconds)
        case .bool: return nil
        }
        let waitlist: Bool
        switch members["waitlist"] {
        case nil: waitlist = false
        case .bool(let joins): waitlist = joins
        case .integer, .null: return nil
        }
        self.init(eventID: eventID, seatCount: seatCount, holdSeconds: holdSeconds, waitlist: waitlist)
    }
}

extension BookingResponse {
    init(_ booking: Booking) {
        self.init(
            id: booking.id, reference: booking.reference, userID: booking.userID, eventID: booking.eventID,
            seatCount: booking.seatCount, status: booking.status.rawValue, expiresAt: booking.expiresAt,
            createdAt: booking.createdAt)
    }

    /// The response, written without `JSONEncoder` (bookings are the hot path) where ``flatJSON`` can; the bytes
    /// are the same either way.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        guard let body = flatJSON else {
            return try context.responseEncoder.encode(self, from: request, context: context)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: ResponseBody(byteBuffer: body))
    }

    /// The JSON `JSONCoding.encoder` writes for this booking, written directly; nil when a field would need escaping
    /// or a date lies outside the years the direct writer covers.
    var flatJSON: ByteBuffer? {
        guard FlatJSON.needsNoEscaping(reference), FlatJSON.needsNoEscaping(status), FlatJSON.writesDate(expiresAt),
            FlatJSON.writesDate(createdAt)
        else { return nil }
        var object = FlatJSON.ObjectWriter()
        object.date("created_at", createdAt)
        object.integer("event_id", eventID)
        object.date("expires_at", expiresAt)
        object.integer("id", id)
        object.string("reference", reference)
        object.integer("seat_count", seatCount)
        object.string("status", status)
        object.integer("user_id", userID)
        return object.finish()
    }
}

extension WaitlistResponse {
    init(_ entry: WaitlistEntry) {
        self.init(
            id: entry.id, eventID: entry.eventID, userID: entry.userID, seatCount: entry.seatCount,
            waitlistPosition: entry.position, createdAt: entry.createdAt)
    }
}
