import Foundation

/// `POST /api/v1/bookings/`: seats outright, as a hold (`hold_seconds`), or onto the waitlist when sold out.
public struct NewBookingBody: Codable, Sendable, Equatable {
    public let eventID: Int64
    public let seatCount: Int
    public let holdSeconds: Int?
    public let waitlist: Bool

    public enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case seatCount = "seat_count"
        case holdSeconds = "hold_seconds"
        case waitlist
    }

    public init(eventID: Int64, seatCount: Int, holdSeconds: Int? = nil, waitlist: Bool = false) {
        self.eventID = eventID
        self.seatCount = seatCount
        self.holdSeconds = holdSeconds
        self.waitlist = waitlist
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decodeWholeNumber(Int64.self, forKey: .eventID)
        seatCount = try container.decodeWholeNumber(Int.self, forKey: .seatCount)
        holdSeconds = try container.decodeWholeNumberIfPresent(Int.self, forKey: .holdSeconds)
        waitlist = try container.decodeIfPresent(Bool.self, forKey: .waitlist) ?? false
    }
}

/// A booking: outright (`confirmed`), a hold (`held` until `expires_at`), or released.
public struct BookingResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let reference: String
    public let userID: Int64
    public let eventID: Int64
    public let seatCount: Int
    public let status: String
    public let expiresAt: Date?
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, reference, status
        case userID = "user_id"
        case eventID = "event_id"
        case seatCount = "seat_count"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    public init(
        id: Int64, reference: String, userID: Int64, eventID: Int64, seatCount: Int, status: String,
        expiresAt: Date?, createdAt: Date
    ) {
        self.id = id
        self.reference = reference
        self.userID = userID
        self.eventID = eventID
        self.seatCount = seatCount
        self.status = status
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }

    // `expires_at` is null for a booking that was never held, so every booking has the same members.
    public func encode(to encoder: any Encoder) throws {
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

/// A request that waits in line for a sold-out event (202).
public struct WaitlistResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let eventID: Int64
    public let userID: Int64
    public let seatCount: Int
    public let status: String
    public let waitlistPosition: Int
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, status
        case eventID = "event_id"
        case userID = "user_id"
        case seatCount = "seat_count"
        case waitlistPosition = "waitlist_position"
        case createdAt = "created_at"
    }

    public init(id: Int64, eventID: Int64, userID: Int64, seatCount: Int, waitlistPosition: Int, createdAt: Date) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.seatCount = seatCount
        status = "waitlisted"
        self.waitlistPosition = waitlistPosition
        self.createdAt = createdAt
    }
}

/// The caller's bookings, newest first.
public struct BookingListResponse: Codable, Sendable, Equatable {
    public let bookings: [BookingResponse]

    public init(bookings: [BookingResponse]) {
        self.bookings = bookings
    }
}
