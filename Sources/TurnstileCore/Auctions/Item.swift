import Foundation

/// An auction item and its highest bid so far.
///
/// A bid becomes the highest when it reaches ``minimumNextBidCents``: the starting price for the first bid, the
/// current bid plus the minimum increment after that. So accepted bids are strictly increasing.
public struct Item: Equatable, Sendable {
    public let id: Int64
    public let sellerID: Int64
    public let title: String
    public let startingPriceCents: Int
    public let minIncrementCents: Int
    /// When bidding closes; nil for an auction that stays open.
    public let endsAt: Date?
    public let currentBidCents: Int?
    public let highestBidderID: Int64?
    /// How many bids were accepted; the last accepted bid's `seq`.
    public let bidCount: Int
    public let createdAt: Date

    public init(
        id: Int64, sellerID: Int64, title: String, startingPriceCents: Int, minIncrementCents: Int, endsAt: Date?,
        currentBidCents: Int? = nil, highestBidderID: Int64? = nil, bidCount: Int = 0, createdAt: Date
    ) {
        precondition((currentBidCents == nil) == (bidCount == 0), "an item has a current bid once it has bids")
        self.id = id
        self.sellerID = sellerID
        self.title = title
        self.startingPriceCents = startingPriceCents
        self.minIncrementCents = minIncrementCents
        self.endsAt = endsAt
        self.currentBidCents = currentBidCents
        self.highestBidderID = highestBidderID
        self.bidCount = bidCount
        self.createdAt = createdAt
    }

    /// The least a bid must offer to become the highest.
    public var minimumNextBidCents: Int {
        guard let currentBidCents else { return startingPriceCents }
        return currentBidCents + minIncrementCents
    }

    /// Whether bidding has closed at `now`.
    public func isClosed(at now: Date) -> Bool {
        guard let endsAt else { return false }
        return endsAt <= now
    }

    /// The highest bid the item accepts: one that leaves room for the increment, so that it can always be outbid.
    public var maximumBidCents: Int { Limits.priceCentsMax - minIncrementCents }

    /// Judges a bid of `amountCents` by `bidderID` at `now`: the accepted bid and the item after it, or why not.
    public func judge(amountCents: Int, bidderID: Int64, at now: Date) -> Result<(Item, Bid), TurnstileError> {
        if isClosed(at: now) { return .failure(.auctionClosed(itemID: id)) }
        guard bidderID != sellerID else { return .failure(.ownItem(itemID: id)) }
        guard amountCents <= maximumBidCents else {
            return .failure(
                .validationFailed(
                    field: "amount_cents", detail: "must be at most \(maximumBidCents), so that it can still be outbid")
            )
        }
        guard amountCents >= minimumNextBidCents else {
            return .failure(.bidTooLow(currentBidCents: currentBidCents, minimumNextCents: minimumNextBidCents))
        }
        let seq = bidCount + 1
        let item = Item(
            id: id, sellerID: sellerID, title: title, startingPriceCents: startingPriceCents,
            minIncrementCents: minIncrementCents, endsAt: endsAt, currentBidCents: amountCents,
            highestBidderID: bidderID, bidCount: seq, createdAt: createdAt)
        return .success((item, Bid(itemID: id, seq: seq, bidderID: bidderID, amountCents: amountCents, createdAt: now)))
    }
}

/// An accepted bid: the `seq`-th highest bid on its item.
public struct Bid: Codable, Equatable, Sendable {
    public let itemID: Int64
    /// The bid's place in the item's accepted bids, from 1; strictly increasing, with no gaps.
    public let seq: Int
    public let bidderID: Int64
    public let amountCents: Int
    public let createdAt: Date

    public init(itemID: Int64, seq: Int, bidderID: Int64, amountCents: Int, createdAt: Date) {
        self.itemID = itemID
        self.seq = seq
        self.bidderID = bidderID
        self.amountCents = amountCents
        self.createdAt = createdAt
    }
}

/// A validated request to put an item up for auction.
public struct NewItem: Equatable, Sendable {
    public let title: String
    public let startingPriceCents: Int
    public let minIncrementCents: Int
    public let endsAt: Date?

    /// Validates the raw fields; `endsAt` must lie in the future of `now`.
    public init(
        title: String, startingPriceCents: Int, minIncrementCents: Int, endsAt: Date?, now: Date
    ) throws(TurnstileError) {
        self.title = try Validate.text(title, field: "title", lengthMax: Limits.itemTitleLengthMax)
        try Validate.number(minIncrementCents, field: "min_increment_cents", in: 1...Limits.priceCentsMax - 1)
        // The starting price is a bid's floor, and even it must leave room to be outbid.
        try Validate.number(
            startingPriceCents, field: "starting_price_cents", in: 1...Limits.priceCentsMax - minIncrementCents)
        if let endsAt {
            guard Limits.eventDateSecondsRange.contains(endsAt.timeIntervalSince1970) else {
                throw .validationFailed(field: "ends_at", detail: "must be between 1970-01-01 and 9999-12-31")
            }
            guard endsAt > now else { throw .validationFailed(field: "ends_at", detail: "must lie in the future") }
        }
        self.startingPriceCents = startingPriceCents
        self.minIncrementCents = minIncrementCents
        self.endsAt = endsAt
    }
}

/// A validated bid.
public struct BidRequest: Equatable, Sendable {
    public let itemID: Int64
    public let bidderID: Int64
    public let amountCents: Int

    public init(itemID: Int64, bidderID: Int64, amountCents: Int) throws(TurnstileError) {
        try Validate.number(amountCents, field: "amount_cents", in: 1...Limits.priceCentsMax)
        self.itemID = itemID
        self.bidderID = bidderID
        self.amountCents = amountCents
    }
}
