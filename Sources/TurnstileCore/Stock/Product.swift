import Foundation

/// A product sold from a limited stock.
public struct Product: Equatable, Sendable {
    public let id: Int64
    /// The stock-keeping unit: unique across products.
    public let sku: String
    public let name: String
    public let priceCents: Int
    /// Every unit the product was stocked with.
    public let stockTotal: Int
    /// The units not ordered (or ordered and then cancelled).
    public let stock: Int
    public let createdAt: Date

    public init(
        id: Int64, sku: String, name: String, priceCents: Int, stockTotal: Int, stock: Int, createdAt: Date
    ) {
        self.id = id
        self.sku = sku
        self.name = name
        self.priceCents = priceCents
        self.stockTotal = stockTotal
        self.stock = stock
        self.createdAt = createdAt
    }

    public var resource: ResourceKey { .stock(productID: id) }

    /// The same product with another count of units in stock.
    public func with(stock: Int) -> Product {
        Product(
            id: id, sku: sku, name: name, priceCents: priceCents, stockTotal: stockTotal, stock: stock,
            createdAt: createdAt)
    }
}

/// A validated request to create a product.
public struct NewProduct: Equatable, Sendable {
    public let sku: String
    public let name: String
    public let priceCents: Int
    public let stock: Int

    /// Validates the raw fields of a new product.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` naming the first field that is wrong.
    public init(sku: String, name: String, priceCents: Int, stock: Int) throws(TurnstileError) {
        self.sku = try Validate.text(sku, field: "sku", lengthMax: Limits.skuLengthMax)
        self.name = try Validate.text(name, field: "name", lengthMax: Limits.productNameLengthMax)
        try Validate.number(priceCents, field: "price_cents", in: 0...Limits.priceCentsMax)
        try Validate.number(stock, field: "stock", in: 1...Limits.productStockMax)
        self.priceCents = priceCents
        self.stock = stock
    }
}
