import Foundation

/// A request for seats queued on a sold-out event. Seats released later (a cancellation, an expired hold) are offered
/// to waiting entries in order, as holds.
public struct WaitlistEntry: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Equatable, Sendable {
        /// Still waiting for seats.
        case waiting
        /// Seats were offered: ``WaitlistEntry/offeredBookingID`` is the hold made for it.
        case offered
    }

    public let id: Int64
    public let eventID: Int64
    public let userID: Int64
    public let seatCount: Int
    public let status: Status
    /// Where the entry stood when it joined: 1 is first in line.
    public let position: Int
    public let offeredBookingID: Int64?
    public let createdAt: Date

    public init(
        id: Int64, eventID: Int64, userID: Int64, seatCount: Int, status: Status, position: Int,
        offeredBookingID: Int64? = nil, createdAt: Date
    ) {
        precondition((status == .offered) == (offeredBookingID != nil), "an offer names its hold")
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.seatCount = seatCount
        self.status = status
        self.position = position
        self.offeredBookingID = offeredBookingID
        self.createdAt = createdAt
    }

    /// The entry, offered the hold `bookingID`.
    public func offered(bookingID: Int64) -> WaitlistEntry {
        WaitlistEntry(
            id: id, eventID: eventID, userID: userID, seatCount: seatCount, status: .offered, position: position,
            offeredBookingID: bookingID, createdAt: createdAt)
    }
}
