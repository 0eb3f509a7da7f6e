import Foundation
import Hummingbird
import TurnstileCore

// The wire shapes of the API (DESIGN §3): snake_case keys, RFC 3339 UTC dates, integer ids.

struct RegisterBody: Decodable {
    let email: String
    let username: String
    let password: String
}

struct LoginBody: Decodable {
    let email: String
    let password: String
}

struct NewEventBody: Decodable {
    let title: String
    let description: String?
    let date: Date
    let location: String?
    let seatCount: Int
    let seatsPerUserMax: Int?

    enum CodingKeys: String, CodingKey {
        case title, description, date, location
        case seatCount = "seat_count"
        case seatsPerUserMax = "max_seats_per_user"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decode(String.self, forKey: .title)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        date = try container.decode(Date.self, forKey: .date)
        location = try container.decodeIfPresent(String.self, forKey: .location)
        seatCount = try container.decodeWholeNumber(Int.self, forKey: .seatCount)
        let hasLimit = try container.contains(.seatsPerUserMax) && !container.decodeNil(forKey: .seatsPerUserMax)
        seatsPerUserMax = hasLimit ? try container.decodeWholeNumber(Int.self, forKey: .seatsPerUserMax) : nil
    }
}

struct NewBookingBody: Decodable {
    let eventID: Int64
    let seatCount: Int
    let holdSeconds: Int?
    let waitlist: Bool

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case seatCount = "seat_count"
        case holdSeconds = "hold_seconds"
        case waitlist
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decodeWholeNumber(Int64.self, forKey: .eventID)
        seatCount = try container.decodeWholeNumber(Int.self, forKey: .seatCount)
        let hasHold = try container.contains(.holdSeconds) && !container.decodeNil(forKey: .holdSeconds)
        holdSeconds = hasHold ? try container.decodeWholeNumber(Int.self, forKey: .holdSeconds) : nil
        waitlist = try container.decodeIfPresent(Bool.self, forKey: .waitlist) ?? false
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
        switch members["hold_seconds"] {
        case nil, .null: holdSeconds = nil
        case .integer(let seconds): holdSeconds = Int(exactly: seconds)
        case .bool: return nil
        }
        switch members["waitlist"] {
        case nil: waitlist = false
        case .bool(let joins): waitlist = joins
        case .integer, .null: return nil
        }
        self.eventID = eventID
        self.seatCount = seatCount
    }
}

struct UserResponse: ResponseEncodable {
    let id: Int64
    let email: String
    let username: String
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, username
        case createdAt = "created_at"
    }

    init(_ user: User) {
        id = user.id
        email = user.email
        username = user.username
        createdAt = user.createdAt
    }
}

struct TokenResponse: ResponseEncodable {
    let accessToken: String
    let tokenType = "bearer"
    let expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }
}

struct EventResponse: ResponseEncodable {
    let id: Int64
    let title: String
    let description: String?
    let date: Date
    let location: String?
    let seatCount: Int
    let availableSeats: Int
    let organizerID: Int64
    let createdAt: Date
    let seatsPerUserMax: Int

    enum CodingKeys: String, CodingKey {
        case id, title, description, date, location
        case seatCount = "seat_count"
        case availableSeats = "available_seats"
        case organizerID = "organizer_id"
        case createdAt = "created_at"
        case seatsPerUserMax = "max_seats_per_user"
    }

    init(_ event: Event) {
        id = event.id
        title = event.title
        description = event.description
        date = event.date
        location = event.location
        seatCount = event.seatCount
        availableSeats = event.availableSeats
        organizerID = event.organizerID
        createdAt = event.createdAt
        seatsPerUserMax = event.seatsPerUserMax
    }

    // Absent optionals are sent as null, so every event has the same members.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(title, forKey: .title)
        try container.encode(description, forKey: .description)
        try container.encode(date, forKey: .date)
        try container.encode(location, forKey: .location)
        try container.encode(seatCount, forKey: .seatCount)
        try container.encode(availableSeats, forKey: .availableSeats)
        try container.encode(organizerID, forKey: .organizerID)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(seatsPerUserMax, forKey: .seatsPerUserMax)
    }
}

/// One page of a list, `{"<items>": […], "total": …, "page": …, "page_size": …}`, its first member named for what
/// it lists (`events`, `products`).
struct PageResponse<Item: Encodable & Sendable>: ResponseEncodable {
    let itemsKey: String
    let items: [Item]
    let total: Int
    let page: Int
    let pageSize: Int

    init<Value>(_ itemsKey: String, _ page: Page<Value>, _ response: (Value) -> Item) {
        self.itemsKey = itemsKey
        items = page.items.map(response)
        total = page.total
        self.page = page.request.page
        pageSize = page.request.pageSize
    }

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: Key(stringValue: itemsKey))
        try container.encode(total, forKey: Key(stringValue: "total"))
        try container.encode(page, forKey: Key(stringValue: "page"))
        try container.encode(pageSize, forKey: Key(stringValue: "page_size"))
    }
}

struct BookingResponse: ResponseEncodable {
    let id: Int64
    let reference: String
    let userID: Int64
    let eventID: Int64
    let seatCount: Int
    let status: String
    let expiresAt: Date?
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, reference, status
        case userID = "user_id"
        case eventID = "event_id"
        case seatCount = "seat_count"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    init(_ booking: Booking) {
        id = booking.id
        reference = booking.reference
        userID = booking.userID
        eventID = booking.eventID
        seatCount = booking.seatCount
        status = booking.status.rawValue
        expiresAt = booking.expiresAt
        createdAt = booking.createdAt
    }

    /// The response, written without `JSONEncoder` (bookings are the hot path) where ``flatJSON`` can; the bytes
    /// are the same either way.
    func response(from request: Request, context: some RequestContext) throws -> Response {
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

    // `expires_at` is null for a booking that was never held, so every booking has the same members.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(reference, forKey: .reference)
        try container.encode(userID, forKey: .userID)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(seatCount, forKey: .seatCount)
        try container.encode(status, forKey: .status)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

struct WaitlistResponse: ResponseEncodable {
    let id: Int64
    let eventID: Int64
    let userID: Int64
    let seatCount: Int
    let status = "waitlisted"
    let waitlistPosition: Int
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, status
        case eventID = "event_id"
        case userID = "user_id"
        case seatCount = "seat_count"
        case waitlistPosition = "waitlist_position"
        case createdAt = "created_at"
    }

    init(_ entry: WaitlistEntry) {
        id = entry.id
        eventID = entry.eventID
        userID = entry.userID
        seatCount = entry.seatCount
        waitlistPosition = entry.position
        createdAt = entry.createdAt
    }
}

struct BookingListResponse: ResponseEncodable {
    let bookings: [BookingResponse]
}

struct StatusResponse: ResponseEncodable {
    let status: String
}

/// `GET /`: where to look next.
struct IndexResponse: ResponseEncodable {
    struct Links: Encodable {
        let openapi = "/openapi.json"
        let health = "/health"
        let ready = "/ready"
        let metrics = "/metrics"
        let api = "/api/v1"
    }

    let service = "turnstile"
    let links = Links()
}
