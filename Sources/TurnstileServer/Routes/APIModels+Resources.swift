import Foundation
import Hummingbird
import TurnstileCore

// The wire shapes of stock, credits and auctions (DESIGN §3).

struct NewProductBody: Decodable {
    let sku: String
    let name: String
    let priceCents: Int
    let stock: Int

    enum CodingKeys: String, CodingKey {
        case sku, name, stock
        case priceCents = "price_cents"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(String.self, forKey: .sku)
        name = try container.decode(String.self, forKey: .name)
        priceCents = try container.decodeWholeNumber(Int.self, forKey: .priceCents)
        stock = try container.decodeWholeNumber(Int.self, forKey: .stock)
    }
}

struct ProductResponse: ResponseEncodable {
    let id: Int64
    let sku: String
    let name: String
    let priceCents: Int
    let stock: Int
    let stockTotal: Int
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, sku, name, stock
        case priceCents = "price_cents"
        case stockTotal = "stock_total"
        case createdAt = "created_at"
    }

    init(_ product: Product) {
        id = product.id
        sku = product.sku
        name = product.name
        priceCents = product.priceCents
        stock = product.stock
        stockTotal = product.stockTotal
        createdAt = product.createdAt
    }
}

struct NewOrderBody: Decodable {
    let productID: Int64
    let quantity: Int

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case quantity
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        productID = try container.decodeWholeNumber(Int64.self, forKey: .productID)
        quantity = try container.decodeWholeNumber(Int.self, forKey: .quantity)
    }
}

struct OrderResponse: ResponseEncodable {
    let id: Int64
    let userID: Int64
    let productID: Int64
    let quantity: Int
    let totalCents: Int
    let status: String
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, quantity, status
        case userID = "user_id"
        case productID = "product_id"
        case totalCents = "total_cents"
        case createdAt = "created_at"
    }

    init(_ order: Order) {
        id = order.id
        userID = order.userID
        productID = order.productID
        quantity = order.quantity
        totalCents = order.totalCents
        status = order.status.rawValue
        createdAt = order.createdAt
    }
}

struct OrderListResponse: ResponseEncodable {
    let orders: [OrderResponse]
}

struct SummaryResponse: ResponseEncodable {
    let products: Int
    let unitsInStock: Int
    let orders: [String: Int]

    enum CodingKeys: String, CodingKey {
        case products, orders
        case unitsInStock = "units_in_stock"
    }

    init(_ summary: StockSummary) {
        products = summary.products
        unitsInStock = summary.unitsInStock
        orders = Dictionary(
            uniqueKeysWithValues: OrderStatus.allCases.map { ($0.rawValue, summary.ordersByStatus[$0] ?? 0) })
    }
}

struct TopUpBody: Decodable {
    let amount: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amount = try container.decodeWholeNumber(Int.self, forKey: .amount)
    }

    enum CodingKeys: String, CodingKey { case amount }
}

struct DeductBody: Decodable {
    let amount: Int
    let reason: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amount = try container.decodeWholeNumber(Int.self, forKey: .amount)
        reason = try container.decode(String.self, forKey: .reason)
    }

    enum CodingKeys: String, CodingKey { case amount, reason }
}

struct BalanceResponse: ResponseEncodable {
    let balance: Int
    let used: Int
    let total: Int
    let lowBalance: Bool
    let threshold = Limits.creditLowBalanceThreshold

    enum CodingKeys: String, CodingKey {
        case balance, used, total, threshold
        case lowBalance = "low_balance"
    }

    init(_ account: CreditAccount) {
        balance = account.balance
        used = account.used
        total = account.total
        lowBalance = account.isLow
    }
}

struct LedgerEntryResponse: ResponseEncodable {
    let id: Int64
    let kind: String
    let amount: Int
    let balanceAfter: Int
    let reason: String?
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, amount, reason
        case balanceAfter = "balance_after"
        case createdAt = "created_at"
    }

    init(_ entry: LedgerEntry) {
        id = entry.id
        kind = entry.kind.rawValue
        amount = entry.amount
        balanceAfter = entry.balanceAfter
        reason = entry.reason
        createdAt = entry.createdAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(amount, forKey: .amount)
        try container.encode(balanceAfter, forKey: .balanceAfter)
        try container.encode(reason, forKey: .reason)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// The answer to a top-up or deduction: the ledger entry it made and the account after it.
struct CreditChangeResponse: ResponseEncodable {
    let transaction: LedgerEntryResponse
    let account: BalanceResponse
}

struct TransactionListResponse: ResponseEncodable {
    let transactions: [LedgerEntryResponse]
}

struct NewItemBody: Decodable {
    let title: String
    let startingPriceCents: Int
    let minIncrementCents: Int
    let endsAt: Date?

    enum CodingKeys: String, CodingKey {
        case title
        case startingPriceCents = "starting_price_cents"
        case minIncrementCents = "min_increment_cents"
        case endsAt = "ends_at"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        title = try container.decode(String.self, forKey: .title)
        startingPriceCents = try container.decodeWholeNumber(Int.self, forKey: .startingPriceCents)
        minIncrementCents = try container.decodeWholeNumber(Int.self, forKey: .minIncrementCents)
        endsAt = try container.decodeIfPresent(Date.self, forKey: .endsAt)
    }
}

struct ItemResponse: ResponseEncodable {
    let item: Item
    let now: Date

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

    // Absent optionals are sent as null, so every item has the same members.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(item.id, forKey: .id)
        try container.encode(item.sellerID, forKey: .sellerID)
        try container.encode(item.title, forKey: .title)
        try container.encode(item.startingPriceCents, forKey: .startingPriceCents)
        try container.encode(item.minIncrementCents, forKey: .minIncrementCents)
        try container.encode(item.endsAt, forKey: .endsAt)
        try container.encode(item.currentBidCents, forKey: .currentBidCents)
        try container.encode(item.highestBidderID, forKey: .highestBidder)
        try container.encode(item.bidCount, forKey: .bidCount)
        try container.encode(item.minimumNextBidCents, forKey: .minNextCents)
        try container.encode(item.isClosed(at: now), forKey: .closed)
        try container.encode(item.createdAt, forKey: .createdAt)
    }
}

struct BidBody: Decodable {
    let amountCents: Int

    enum CodingKeys: String, CodingKey { case amountCents = "amount_cents" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amountCents = try container.decodeWholeNumber(Int.self, forKey: .amountCents)
    }
}

struct BidResponse: ResponseEncodable {
    let itemID: Int64
    let seq: Int
    let amountCents: Int
    let bidderID: Int64
    let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case seq
        case itemID = "item_id"
        case amountCents = "amount_cents"
        case bidderID = "bidder_id"
        case createdAt = "created_at"
    }

    init(_ bid: Bid) {
        itemID = bid.itemID
        seq = bid.seq
        amountCents = bid.amountCents
        bidderID = bid.bidderID
        createdAt = bid.createdAt
    }
}

struct BidListResponse: ResponseEncodable {
    let bids: [BidResponse]
}
