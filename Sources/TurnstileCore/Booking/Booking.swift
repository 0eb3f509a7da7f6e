import Foundation

/// Seats held by one user at one event.
public struct Booking: Equatable, Sendable {
    /// Whether the booking holds its seats.
    public enum Status: String, Equatable, Sendable {
        /// The booking holds its seats.
        case confirmed
        /// The booking was cancelled and its seats went back to the event.
        case cancelled
    }

    public let id: Int64
    public let userID: Int64
    public let eventID: Int64
    public let seatCount: Int
    public let status: Status
    public let createdAt: Date

    public init(id: Int64, userID: Int64, eventID: Int64, seatCount: Int, status: Status, createdAt: Date) {
        self.id = id
        self.userID = userID
        self.eventID = eventID
        self.seatCount = seatCount
        self.status = status
        self.createdAt = createdAt
    }

    /// The booking's human-friendly reference, e.g. `EVT-7K2Q9X`, derived from its id.
    public var reference: String { BookingReference.make(id: id) }

    /// The same booking, cancelled.
    public func cancelled() -> Booking {
        Booking(
            id: id, userID: userID, eventID: eventID, seatCount: seatCount, status: .cancelled, createdAt: createdAt)
    }
}

/// A validated request to book seats.
public struct BookingRequest: Equatable, Sendable {
    public let claim: Claim

    /// Validates a booking request.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` for a seat count outside
    ///   `1...Limits.bookingSeatCountMax` or an unusable idempotency key.
    public init(eventID: Int64, seatCount: Int, userID: Int64, idempotencyKey: String?) throws(TurnstileError) {
        try Validate.number(seatCount, field: "seat_count", in: 1...Limits.bookingSeatCountMax)
        if eventID < 1 {
            throw .validationFailed(field: "event_id", detail: "must be a positive id, got \(eventID)")
        }
        if let idempotencyKey {
            try Validate.length(of: idempotencyKey, field: "Idempotency-Key", in: 1...Limits.idempotencyKeyLengthMax)
        }
        claim = Claim(resourceID: eventID, amount: seatCount, userID: userID, idempotencyKey: idempotencyKey)
    }
}

/// How a booking request ended when it was not refused.
public enum BookingOutcome: Equatable, Sendable {
    /// A new booking was made.
    case created(Booking)
    /// The idempotency key matched an earlier booking, which is returned unchanged.
    case replayed(Booking)

    /// The booking, new or replayed.
    public var booking: Booking {
        switch self {
        case .created(let booking), .replayed(let booking): booking
        }
    }
}
