import Foundation
import TurnstileCore
import TurnstileWire

// Stock, credits and auctions, from the domain's values (the shapes are TurnstileWire's).

extension ProductResponse {
    init(_ product: Product) {
        self.init(
            id: product.id, sku: product.sku, name: product.name, priceCents: product.priceCents,
            stock: product.stock, stockTotal: product.stockTotal, createdAt: product.createdAt)
    }
}

extension OrderResponse {
    init(_ order: Order) {
        self.init(
            id: order.id, userID: order.userID, productID: order.productID, quantity: order.quantity,
            totalCents: order.totalCents, status: order.status.rawValue, createdAt: order.createdAt)
    }
}

extension SummaryResponse {
    init(_ summary: StockSummary) {
        self.init(
            products: summary.products, unitsInStock: summary.unitsInStock,
            orders: Dictionary(
                uniqueKeysWithValues: OrderStatus.allCases.map { ($0.rawValue, summary.ordersByStatus[$0] ?? 0) }))
    }
}

extension BalanceResponse {
    init(_ account: CreditAccount) {
        self.init(
            balance: account.balance, used: account.used, total: account.total, lowBalance: account.isLow,
            threshold: Limits.creditLowBalanceThreshold)
    }
}

extension LedgerEntryResponse {
    init(_ entry: LedgerEntry) {
        self.init(
            id: entry.id, kind: entry.kind.rawValue, amount: entry.amount, balanceAfter: entry.balanceAfter,
            reason: entry.reason, createdAt: entry.createdAt)
    }
}

extension ItemResponse {
    /// The item as of `now`: whether bidding has closed, and the least the next bid must be.
    init(item: Item, now: Date) {
        self.init(
            id: item.id, sellerID: item.sellerID, title: item.title, startingPriceCents: item.startingPriceCents,
            minIncrementCents: item.minIncrementCents, endsAt: item.endsAt, currentBidCents: item.currentBidCents,
            highestBidder: item.highestBidderID, bidCount: item.bidCount, minNextCents: item.minimumNextBidCents,
            closed: item.isClosed(at: now), createdAt: item.createdAt)
    }
}

extension BidResponse {
    init(_ bid: Bid) {
        self.init(
            itemID: bid.itemID, seq: bid.seq, amountCents: bid.amountCents, bidderID: bid.bidderID,
            createdAt: bid.createdAt)
    }
}
