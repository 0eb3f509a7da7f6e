/// An accepted bid and the item after it.
public struct BidOutcome: Equatable, Sendable {
    public let bid: Bid
    public let item: Item
}

/// Bids on an item, judged by ``Item/judge(amountCents:bidderID:at:)``. Refused with
/// ``TurnstileError/bidTooLow(currentBidCents:minimumNextCents:)`` or ``TurnstileError/auctionClosed(itemID:)``.
public struct PlaceBid: WriteOperation {
    public let request: BidRequest

    public init(_ request: BidRequest) {
        self.request = request
    }

    public var actingUserID: Int64? { request.bidderID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.itemIDs.insert(request.itemID)
    }

    public func apply(to plan: inout BatchPlan) -> Result<BidOutcome, TurnstileError> {
        guard let item = plan.inputs.items[request.itemID] else {
            return .failure(.notFound(entity: "item", id: request.itemID))
        }
        switch item.judge(amountCents: request.amountCents, bidderID: request.bidderID, at: plan.inputs.now) {
        case .success(let (item, bid)):
            plan.inputs.items[item.id] = item
            plan.effects.items[item.id] = item
            plan.effects.bids.append(bid)
            plan.effects.changes.append(.bid(bid))
            return .success(BidOutcome(bid: bid, item: item))
        case .failure(let error):
            return .failure(error)
        }
    }
}
