import Foundation

/// Something a live feed announces, produced by a committed write batch, in commit order.
public enum LiveChange: Codable, Equatable, Sendable {
    /// A bid became the highest on its item.
    case bid(Bid)
    /// An event's available seats changed.
    case availability(eventID: Int64, availableSeats: Int, seatCount: Int)
    /// Released seats were offered to a waitlisted request as a hold.
    case waitlistOffer(WaitlistEntry, hold: Booking)

    /// The feed that carries this change.
    public var topic: LiveTopic {
        switch self {
        case .bid(let bid): .item(bid.itemID)
        case .availability(let eventID, _, _): .event(eventID)
        case .waitlistOffer(let entry, _): .event(entry.eventID)
        }
    }
}

/// One live feed: an item's bids or an event's availability.
public enum LiveTopic: Hashable, Sendable {
    case item(Int64)
    case event(Int64)
}
