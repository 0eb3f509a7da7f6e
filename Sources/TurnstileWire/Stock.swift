import Foundation

/// `POST /api/v1/products/`.
public struct NewProductBody: Codable, Sendable, Equatable {
    public let sku: String
    public let name: String
    public let priceCents: Int
    public let stock: Int

    enum CodingKeys: String, CodingKey {
        case sku, name, stock
        case priceCents = "price_cents"
    }

    public init(sku: String, name: String, priceCents: Int, stock: Int) {
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.stock = stock
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(String.self, forKey: .sku)
        name = try container.decode(String.self, forKey: .name)
        priceCents = try container.decodeWholeNumber(Int.self, forKey: .priceCents)
        stock = try container.decodeWholeNumber(Int.self, forKey: .stock)
    }
}

/// A product, with its stock.
public struct ProductResponse: Codable, Sendable, Equatable, PageItem {
    public let id: Int64
    public let sku: String
    public let name: String
    public let priceCents: Int
    public let stock: Int
    public let stockTotal: Int
    public let createdAt: Date

    public static let pageKey = "products"

    enum CodingKeys: String, CodingKey {
        case id, sku, name, stock
        case priceCents = "price_cents"
        case stockTotal = "stock_total"
        case createdAt = "created_at"
    }

    public init(
        id: Int64, sku: String, name: String, priceCents: Int, stock: Int, stockTotal: Int, createdAt: Date
    ) {
        self.id = id
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.stock = stock
        self.stockTotal = stockTotal
        self.createdAt = createdAt
    }
}

/// `POST /api/v1/orders/`.
public struct NewOrderBody: Codable, Sendable, Equatable {
    public let productID: Int64
    public let quantity: Int

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case quantity
    }

    public init(productID: Int64, quantity: Int) {
        self.productID = productID
        self.quantity = quantity
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        productID = try container.decodeWholeNumber(Int64.self, forKey: .productID)
        quantity = try container.decodeWholeNumber(Int.self, forKey: .quantity)
    }
}

/// An order: `pending`, `paid`, `shipped` or `cancelled`.
public struct OrderResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let userID: Int64
    public let productID: Int64
    public let quantity: Int
    public let totalCents: Int
    public let status: String
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, quantity, status
        case userID = "user_id"
        case productID = "product_id"
        case totalCents = "total_cents"
        case createdAt = "created_at"
    }

    public init(
        id: Int64, userID: Int64, productID: Int64, quantity: Int, totalCents: Int, status: String, createdAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.productID = productID
        self.quantity = quantity
        self.totalCents = totalCents
        self.status = status
        self.createdAt = createdAt
    }
}

/// The caller's orders, newest first.
public struct OrderListResponse: Codable, Sendable, Equatable {
    public let orders: [OrderResponse]

    public init(orders: [OrderResponse]) {
        self.orders = orders
    }
}

/// `GET /api/v1/summary`: counts across products and orders, from one snapshot.
public struct SummaryResponse: Codable, Sendable, Equatable {
    public let products: Int
    public let unitsInStock: Int
    /// Orders by status, every status present.
    public let orders: [String: Int]

    enum CodingKeys: String, CodingKey {
        case products, orders
        case unitsInStock = "units_in_stock"
    }

    public init(products: Int, unitsInStock: Int, orders: [String: Int]) {
        self.products = products
        self.unitsInStock = unitsInStock
        self.orders = orders
    }
}
