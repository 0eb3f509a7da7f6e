import Foundation

/// Seats held by one user at one event.
public struct Booking: Codable, Equatable, Sendable {
    /// Whether the booking holds its seats.
    public enum Status: String, Codable, Equatable, Sendable {
        /// The seats are held until ``Booking/expiresAt``; confirming before then keeps them.
        case held
        /// The booking holds its seats for good.
        case confirmed
        /// The booking was cancelled and its seats went back to the event.
        case cancelled
        /// The hold ran out before it was confirmed and its seats went back to the event.
        case expired

        /// Whether a booking in this state holds seats.
        public var holdsSeats: Bool { self == .held || self == .confirmed }
    }

    public let id: Int64
    public let userID: Int64
    public let eventID: Int64
    public let seatCount: Int
    public let status: Status
    /// When a hold runs out; nil for bookings that were never held.
    public let expiresAt: Date?
    public let createdAt: Date

    public init(
        id: Int64, userID: Int64, eventID: Int64, seatCount: Int, status: Status, expiresAt: Date? = nil,
        createdAt: Date
    ) {
        precondition(status != .held || expiresAt != nil, "a hold has an expiry")
        self.id = id
        self.userID = userID
        self.eventID = eventID
        self.seatCount = seatCount
        self.status = status
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }

    /// The booking's human-friendly reference, e.g. `EVT-7K2Q9X`, derived from its id.
    public var reference: String { BookingReference.make(id: id) }

    /// The seats this booking draws from.
    public var resource: ResourceKey { .seats(eventID: eventID) }

    /// Whether this is a hold that has run out at `now` (its seats may not yet have been released).
    public func holdHasRunOut(at now: Date) -> Bool {
        guard status == .held, let expiresAt else { return false }
        return expiresAt <= now
    }

    /// The same booking in another state.
    public func with(status: Status) -> Booking {
        Booking(
            id: id, userID: userID, eventID: eventID, seatCount: seatCount, status: status, expiresAt: expiresAt,
            createdAt: createdAt)
    }
}

/// A validated request to book seats: outright, as a hold that must be confirmed, or a place on the waitlist when
/// the event is sold out.
public struct BookingRequest: Equatable, Sendable {
    public let claim: Claim
    /// How long the seats are held before they go back, when the booking is a hold.
    public let holdSeconds: Int?
    /// Whether a sold-out event puts the request on its waitlist instead of refusing it.
    public let joinsWaitlist: Bool

    /// Validates a booking request.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` for a seat count outside
    ///   `1...Limits.bookingSeatCountMax`, a hold outside `1...Limits.holdSecondsMax` or an unusable idempotency key.
    public init(
        eventID: Int64, seatCount: Int, userID: Int64, idempotencyKey: String?, holdSeconds: Int? = nil,
        joinsWaitlist: Bool = false
    ) throws(TurnstileError) {
        try Validate.number(seatCount, field: "seat_count", in: 1...Limits.bookingSeatCountMax)
        try Validate.id(eventID, field: "event_id")
        if let holdSeconds {
            try Validate.number(holdSeconds, field: "hold_seconds", in: 1...Limits.holdSecondsMax)
        }
        try Validate.idempotencyKey(idempotencyKey)
        claim = Claim(
            resource: .seats(eventID: eventID), amount: seatCount, userID: userID, idempotencyKey: idempotencyKey)
        self.holdSeconds = holdSeconds
        self.joinsWaitlist = joinsWaitlist
    }

    public var eventID: Int64 { claim.resource.id }
}

/// How a booking request ended when it was not refused.
public enum BookingOutcome: Equatable, Sendable {
    /// A new booking was made.
    case created(Booking)
    /// The idempotency key matched an earlier booking, which is returned unchanged.
    case replayed(Booking)
    /// The event was sold out and the request joined its waitlist.
    case waitlisted(WaitlistEntry)
    /// The idempotency key matched an earlier request that joined the waitlist: its place, as it is now.
    case waitlistReplayed(WaitlistEntry)
}

extension BookingOutcome {
    /// The booking made or replayed; nil when the request joined the waitlist instead.
    public var booking: Booking? {
        switch self {
        case .created(let booking), .replayed(let booking): booking
        case .waitlisted, .waitlistReplayed: nil
        }
    }
}
