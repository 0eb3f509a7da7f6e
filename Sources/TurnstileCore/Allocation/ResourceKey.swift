/// Names one scarce resource that claims draw from: the seats of an event, the stock of a product, or the credit
/// balance of an account.
///
/// Every kind is decided by the same ``BatchAllocator``; the kind only tells the store which row holds the balance.
public enum ResourceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The seats of an event.
    case seats(eventID: Int64)
    /// The units in stock of a product.
    case stock(productID: Int64)
    /// The credit balance of a user's account.
    case credits(userID: Int64)

    /// The kind, as a stable word (stored beside idempotency keys).
    public var kind: Kind {
        switch self {
        case .seats: .seats
        case .stock: .stock
        case .credits: .credits
        }
    }

    /// The id of the row that holds the balance: an event, a product or a user.
    public var id: Int64 {
        switch self {
        case .seats(let id), .stock(let id), .credits(let id): id
        }
    }

    /// Rebuilds a key from its stored parts.
    public init(kind: Kind, id: Int64) {
        switch kind {
        case .seats: self = .seats(eventID: id)
        case .stock: self = .stock(productID: id)
        case .credits: self = .credits(userID: id)
        }
    }

    /// The kinds of resource.
    public enum Kind: String, Comparable, Sendable {
        case seats, stock, credits

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public static func < (lhs: ResourceKey, rhs: ResourceKey) -> Bool {
        (lhs.kind, lhs.id) < (rhs.kind, rhs.id)
    }

    public var description: String { "\(kind.rawValue) \(id)" }
}
