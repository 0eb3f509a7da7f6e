import Foundation

/// Units of one product ordered by one user, and where the order stands.
public struct Order: Equatable, Sendable {
    public let id: Int64
    public let userID: Int64
    public let productID: Int64
    public let quantity: Int
    /// The price of the whole order when it was placed.
    public let totalCents: Int
    public let status: OrderStatus
    public let createdAt: Date

    public init(
        id: Int64, userID: Int64, productID: Int64, quantity: Int, totalCents: Int, status: OrderStatus,
        createdAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.productID = productID
        self.quantity = quantity
        self.totalCents = totalCents
        self.status = status
        self.createdAt = createdAt
    }

    public var resource: ResourceKey { .stock(productID: productID) }

    /// The same order in another state.
    public func with(status: OrderStatus) -> Order {
        Order(
            id: id, userID: userID, productID: productID, quantity: quantity, totalCents: totalCents, status: status,
            createdAt: createdAt)
    }
}

/// The life of an order: pending → paid → shipped, or cancelled from pending or paid (its units go back to stock).
public enum OrderStatus: String, CaseIterable, Equatable, Sendable {
    case pending, paid, shipped, cancelled

    /// Whether an order in this state keeps its units out of stock.
    public var holdsStock: Bool { self != .cancelled }

    /// The state `action` leads to, or nil when the action is not allowed from this state.
    public func after(_ action: OrderAction) -> OrderStatus? {
        switch (self, action) {
        case (.pending, .pay): .paid
        case (.paid, .ship): .shipped
        case (.pending, .cancel), (.paid, .cancel): .cancelled
        case (.pending, _), (.paid, _), (.shipped, _), (.cancelled, _): nil
        }
    }
}

/// What a client may do to an order.
public enum OrderAction: String, CaseIterable, Equatable, Sendable {
    case pay, ship, cancel
}

/// A validated request to order units of a product.
public struct OrderRequest: Equatable, Sendable {
    public let claim: Claim

    /// Validates an order.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` for a quantity outside
    ///   `1...Limits.orderQuantityMax`, a non-positive product id or an unusable idempotency key.
    public init(productID: Int64, quantity: Int, userID: Int64, idempotencyKey: String?) throws(TurnstileError) {
        try Validate.id(productID, field: "product_id")
        try Validate.number(quantity, field: "quantity", in: 1...Limits.orderQuantityMax)
        try Validate.idempotencyKey(idempotencyKey)
        claim = Claim(
            resource: .stock(productID: productID), amount: quantity, userID: userID, idempotencyKey: idempotencyKey)
    }
}

/// Counts across every product and order, for `GET /api/v1/summary`.
public struct StockSummary: Equatable, Sendable {
    public let products: Int
    public let unitsInStock: Int
    public let ordersByStatus: [OrderStatus: Int]

    public init(products: Int, unitsInStock: Int, ordersByStatus: [OrderStatus: Int]) {
        self.products = products
        self.unitsInStock = unitsInStock
        self.ordersByStatus = ordersByStatus
    }
}
