import Foundation

/// `POST /api/v1/events/`.
public struct NewEventBody: Codable, Sendable, Equatable {
    public let title: String
    public let description: String?
    public let date: Date
    public let location: String?
    public let seatCount: Int
    public let seatsPerUserMax: Int?

    enum CodingKeys: String, CodingKey {
        case title, description, date, location
        case seatCount = "seat_count"
        case seatsPerUserMax = "max_seats_per_user"
    }

    public init(
        title: String, description: String? = nil, date: Date, location: String? = nil, seatCount: Int,
        seatsPerUserMax: Int? = nil
    ) {
        self.title = title
        self.description = description
        self.date = date
        self.location = location
        self.seatCount = seatCount
        self.seatsPerUserMax = seatsPerUserMax
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decode(String.self, forKey: .title)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        date = try container.decode(Date.self, forKey: .date)
        location = try container.decodeIfPresent(String.self, forKey: .location)
        seatCount = try container.decodeWholeNumber(Int.self, forKey: .seatCount)
        seatsPerUserMax = try container.decodeWholeNumberIfPresent(Int.self, forKey: .seatsPerUserMax)
    }
}

/// An event, with its available seats.
public struct EventResponse: Codable, Sendable, Equatable, PageItem {
    public let id: Int64
    public let title: String
    public let description: String?
    public let date: Date
    public let location: String?
    public let seatCount: Int
    public let availableSeats: Int
    public let organizerID: Int64
    public let createdAt: Date
    public let seatsPerUserMax: Int

    public static let pageKey = "events"

    enum CodingKeys: String, CodingKey {
        case id, title, description, date, location
        case seatCount = "seat_count"
        case availableSeats = "available_seats"
        case organizerID = "organizer_id"
        case createdAt = "created_at"
        case seatsPerUserMax = "max_seats_per_user"
    }

    public init(
        id: Int64, title: String, description: String?, date: Date, location: String?, seatCount: Int,
        availableSeats: Int, organizerID: Int64, createdAt: Date, seatsPerUserMax: Int
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

    // Absent optionals are sent as null, so every event has the same members.
    public func encode(to encoder: any Encoder) throws {
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

/// What a page lists, and the member that holds them.
public protocol PageItem: Codable, Sendable {
    static var pageKey: String { get }
}

/// One page of a list, `{"<items>": […], "total": …, "page": …, "page_size": …}`, its first member named for what
/// it lists (`events`, `products`).
public struct PageResponse<Item: PageItem>: Codable, Sendable {
    public let items: [Item]
    public let total: Int
    public let page: Int
    public let pageSize: Int

    public init(items: [Item], total: Int, page: Int, pageSize: Int) {
        self.items = items
        self.total = total
        self.page = page
        self.pageSize = pageSize
    }

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        items = try container.decode([Item].self, forKey: Key(stringValue: Item.pageKey))
        total = try container.decode(Int.self, forKey: Key(stringValue: "total"))
        page = try container.decode(Int.self, forKey: Key(stringValue: "page"))
        pageSize = try container.decode(Int.self, forKey: Key(stringValue: "page_size"))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: Key(stringValue: Item.pageKey))
        try container.encode(total, forKey: Key(stringValue: "total"))
        try container.encode(page, forKey: Key(stringValue: "page"))
        try container.encode(pageSize, forKey: Key(stringValue: "page_size"))
    }
}
