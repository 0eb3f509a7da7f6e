import Foundation

/// An event whose seats are sold.
public struct Event: Equatable, Sendable {
    public let id: Int64
    public let title: String
    public let description: String?
    /// When the event takes place.
    public let date: Date
    public let location: String?
    /// The seats the event was created with.
    public let seatCount: Int
    /// The seats not yet booked.
    public let availableSeats: Int
    public let organizerID: Int64
    public let createdAt: Date
    /// The most seats one user may hold, have booked and wait for on this event.
    public let seatsPerUserMax: Int

    public init(
        id: Int64, title: String, description: String?, date: Date, location: String?, seatCount: Int,
        availableSeats: Int, organizerID: Int64, createdAt: Date,
        seatsPerUserMax: Int = Limits.seatsPerUserPerEventDefault
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.date = date
        self.location = location
        self.seatCount = seatCount
        self.availableSeats = availableSeats
        self.organizerID = organizerID
        self.createdAt = createdAt
        self.seatsPerUserMax = seatsPerUserMax
    }

    /// The same event with another count of available seats.
    public func withAvailableSeats(_ seats: Int) -> Event {
        Event(
            id: id, title: title, description: description, date: date, location: location, seatCount: seatCount,
            availableSeats: seats, organizerID: organizerID, createdAt: createdAt, seatsPerUserMax: seatsPerUserMax)
    }
}

/// A validated request to create an event.
public struct NewEvent: Equatable, Sendable {
    public let title: String
    public let description: String?
    public let date: Date
    public let location: String?
    public let seatCount: Int
    /// The most seats one user may hold, have booked and wait for: ``Limits/seatsPerUserPerEventDefault`` unless
    /// given.
    public let seatsPerUserMax: Int

    /// Validates the raw fields of a new event.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` naming the first field that is wrong.
    public init(
        title: String, description: String?, date: Date, location: String?, seatCount: Int,
        seatsPerUserMax: Int? = nil
    )
        throws(TurnstileError)
    {
        let title = try Validate.text(title, field: "title", lengthMax: Limits.eventTitleLengthMax)
        if let description {
            try Validate.length(of: description, field: "description", in: 0...Limits.eventDescriptionLengthMax)
        }
        if let location {
            try Validate.length(of: location, field: "location", in: 0...Limits.eventLocationLengthMax)
        }
        try Validate.number(seatCount, field: "seat_count", in: 1...Limits.eventSeatCountMax)
        guard Limits.eventDateSecondsRange.contains(date.timeIntervalSince1970) else {
            throw .validationFailed(field: "date", detail: "must be between 1970-01-01 and 9999-12-31")
        }
        self.title = title
        self.description = description
        self.date = date
        if let seatsPerUserMax {
            try Validate.number(seatsPerUserMax, field: "max_seats_per_user", in: 1...Limits.eventSeatCountMax)
        }
        self.location = location
        self.seatCount = seatCount
        self.seatsPerUserMax = seatsPerUserMax ?? Limits.seatsPerUserPerEventDefault
    }
}
