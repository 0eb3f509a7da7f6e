/// A request for `amount` units of one scarce resource (the seats of an event, say) on behalf of one user.
public struct Claim: Equatable, Hashable, Sendable {
    /// The resource claimed from.
    public let resource: ResourceKey
    /// How many units are claimed; always at least 1.
    public let amount: Int
    /// Who claims.
    public let userID: Int64
    /// The client's `Idempotency-Key`, if it sent one: a replay with the same key never consumes twice.
    public let idempotencyKey: String?

    /// Creates a claim. `amount` must be positive: validating input is the caller's job.
    public init(resource: ResourceKey, amount: Int, userID: Int64, idempotencyKey: String? = nil) {
        precondition(amount > 0, "a claim's amount must be positive; validate input before claiming")
        self.resource = resource
        self.amount = amount
        self.userID = userID
        self.idempotencyKey = idempotencyKey
    }

    /// The key under which this claim's grant is remembered, if the claim is idempotent.
    public var idempotencyRef: IdempotencyRef? {
        idempotencyKey.map { IdempotencyRef(userID: userID, key: $0) }
    }
}

/// One user's idempotency key. Keys are scoped per user: two users may pick the same key independently.
public struct IdempotencyRef: Hashable, Sendable {
    public let userID: Int64
    public let key: String

    public init(userID: Int64, key: String) {
        self.userID = userID
        self.key = key
    }
}
