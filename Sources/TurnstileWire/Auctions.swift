import Foundation

/// `POST /api/v1/items/`.
public struct NewItemBody: Codable, Sendable, Equatable {
    public let title: String
    public let startingPriceCents: Int
    public let minIncrementCents: Int
    public let endsAt: Date?

    enum CodingKeys: String, CodingKey {
        case title
        case startingPriceCents = "starting_price_cents"
        case minIncrementCents = "min_increment_cents"
        case endsAt = "ends_at"
    }

    public init(title: String, startingPriceCents: Int, minIncrementCents: Int, endsAt: Date? = nil) {
        self.title = title
        self.startingPriceCents = startingPriceCents
        self.minIncrementCents = minIncrementCents
        self.endsAt = endsAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decode(String.self, forKey: .title)
        startingPriceCents = try container.decodeWholeNumber(Int.self, forKey: .startingPriceCents)
        minIncrementCents = try container.decodeWholeNumber(Int.self, forKey: .minIncrementCents)
        endsAt = try container.decodeIfPresent(Date.self, forKey: .endsAt)
    }
}

/// An auction item, with its current bid and the least the next bid must be.
public struct ItemResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let sellerID: Int64
    public let title: String
    public let startingPriceCents: Int
    public let minIncrementCents: Int
    public let endsAt: Date?
    public let currentBidCents: Int?
    public let highestBidder: Int64?
    public let bidCount: Int
    public let minNextCents: Int
    public let closed: Bool
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, title, closed
        case sellerID = "seller_id"
        case startingPriceCents = "starting_price_cents"
        case minIncrementCents = "min_increment_cents"
        case endsAt = "ends_at"
        case currentBidCents = "current_bid_cents"
        case highestBidder = "highest_bidder"
        case bidCount = "bid_count"
        case minNextCents = "min_next_cents"
        case createdAt = "created_at"
    }

    public init(
        id: Int64, sellerID: Int64, title: String, startingPriceCents: Int, minIncrementCents: Int, endsAt: Date?,
        currentBidCents: Int?, highestBidder: Int64?, bidCount: Int, minNextCents: Int, closed: Bool,
        createdAt: Date
    ) {
        self.id = id
        self.sellerID = sellerID
        self.title = title
        self.startingPriceCents = startingPriceCents
        self.minIncrementCents = minIncrementCents
        self.endsAt = endsAt
        self.currentBidCents = currentBidCents
        self.highestBidder = highestBidder
        self.bidCount = bidCount
        self.minNextCents = minNextCents
        self.closed = closed
        self.createdAt = createdAt
    }

    // Absent optionals are sent as null, so every item has the same members.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(sellerID, forKey: .sellerID)
        try container.encode(title, forKey: .title)
        try container.encode(startingPriceCents, forKey: .startingPriceCents)
        try container.encode(minIncrementCents, forKey: .minIncrementCents)
        try container.encode(endsAt, forKey: .endsAt)
        try container.encode(currentBidCents, forKey: .currentBidCents)
        try container.encode(highestBidder, forKey: .highestBidder)
        try container.encode(bidCount, forKey: .bidCount)
        try container.encode(minNextCents, forKey: .minNextCents)
        try container.encode(closed, forKey: .closed)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// `POST /api/v1/items/{id}/bids`.
public struct BidBody: Codable, Sendable, Equatable {
    public let amountCents: Int

    enum CodingKeys: String, CodingKey { case amountCents = "amount_cents" }

    public init(amountCents: Int) {
        self.amountCents = amountCents
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amountCents = try container.decodeWholeNumber(Int.self, forKey: .amountCents)
    }
}

/// An accepted bid, numbered by `seq` on its item.
public struct BidResponse: Codable, Sendable, Equatable {
    public let itemID: Int64
    public let seq: Int
    public let amountCents: Int
    public let bidderID: Int64
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case seq
        case itemID = "item_id"
        case amountCents = "amount_cents"
        case bidderID = "bidder_id"
        case createdAt = "created_at"
    }

    public init(itemID: Int64, seq: Int, amountCents: Int, bidderID: Int64, createdAt: Date) {
        self.itemID = itemID
        self.seq = seq
        self.amountCents = amountCents
        self.bidderID = bidderID
        self.createdAt = createdAt
    }
}

/// An item's accepted bids, in order.
public struct BidListResponse: Codable, Sendable, Equatable {
    public let bids: [BidResponse]

    public init(bids: [BidResponse]) {
        self.bids = bids
    }
}
