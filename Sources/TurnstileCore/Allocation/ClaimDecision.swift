/// What the allocator decided for one claim.
public enum ClaimDecision: Equatable, Sendable {
    /// The claim fit what was left at its turn and was granted.
    case granted
    /// The claim did not fit: only `remaining` units were left at its turn. Nothing was consumed.
    case refused(remaining: Int)
    /// The resource does not exist.
    case unknownResource
    /// The same user sent the same idempotency key for the same claim before: this is a replay of that grant,
    /// and nothing more was consumed.
    case replay(of: GrantOrigin)
    /// The same user sent the same idempotency key before, but for a different claim (another resource or
    /// amount). Nothing was consumed.
    case keyReused
}

/// Where an earlier grant under an idempotency key came from.
public enum GrantOrigin: Equatable, Hashable, Sendable {
    /// A grant committed by an earlier batch, stored under this id (a booking id, say).
    case stored(grantID: Int64)
    /// A grant made earlier in the current batch: the `claimIndex`-th claim this allocator decided (from 0).
    case inBatch(claimIndex: Int)
}

/// A grant remembered under an idempotency key, so that a replay can be recognised and answered with it.
public struct KeyedGrant: Equatable, Sendable {
    public let resource: ResourceKey
    public let amount: Int
    public let origin: GrantOrigin

    public init(resource: ResourceKey, amount: Int, origin: GrantOrigin) {
        self.resource = resource
        self.amount = amount
        self.origin = origin
    }
}
