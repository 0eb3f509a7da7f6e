/// Decides a FIFO batch of claims exactly: the pure heart of Turnstile.
///
/// A store's single writer loads the balances of the resources a batch touches and the grants already stored under
/// the batch's idempotency keys (inside its write transaction), feeds the batch's claims and releases to an
/// allocator in arrival order, then writes the grants and the changed balances in one transaction.
///
/// The rules, each one exact:
/// - **First come, first judged.** Claims are decided in the order given. Each is granted if it fits what is left at
///   its turn, and refused otherwise.
/// - **No head-of-line blocking.** A refused claim reserves nothing, so a later, smaller claim that still fits is
///   granted: with 3 seats left, a claim for 5 is refused and a following claim for 2 is granted. Refusing the 2 would
///   undersell: it would turn a buyer away while the seats it asks for remain.
/// - **Never below zero.** `remaining` never goes negative and never exceeds capacity (``ResourceBalance``).
/// - **Idempotent replays.** A claim whose user and key match an earlier grant (stored or earlier in this batch) is a
///   replay: it consumes nothing and is answered with the original grant. A key reused for a different claim is
///   refused as ``ClaimDecision/keyReused``. Refusals are not remembered: a refused claim changed nothing, so a
///   retry under the same key is judged afresh.
///
/// ```swift
/// var allocator = BatchAllocator(balances: [42: ResourceBalance(capacity: 10, remaining: 3)])
/// allocator.decide(Claim(resourceID: 42, amount: 5, userID: 1))  // .refused(remaining: 3)
/// allocator.decide(Claim(resourceID: 42, amount: 2, userID: 2))  // .granted
/// allocator.balances[42]?.remaining                               // 1
/// ```
public struct BatchAllocator: Sendable {
    /// The balance of every resource this batch may touch, as decided so far.
    public private(set) var balances: [Int64: ResourceBalance]
    /// The resources whose balance this batch changed; only these need writing back.
    public private(set) var changedResourceIDs: Set<Int64> = []
    /// How many claims this allocator has decided; the next claim's index in ``GrantOrigin/inBatch(claimIndex:)``.
    public private(set) var claimsDecided = 0

    private var keyedGrants: [IdempotencyRef: KeyedGrant]

    /// Creates an allocator for one batch.
    /// - Parameters:
    ///   - balances: the current balance of each resource the batch may claim from or release to.
    ///   - storedGrants: the grants already committed under the batch's idempotency keys.
    public init(balances: [Int64: ResourceBalance], storedGrants: [IdempotencyRef: KeyedGrant] = [:]) {
        self.balances = balances
        self.keyedGrants = storedGrants
    }

    /// Decides one claim, the next in arrival order.
    @discardableResult
    public mutating func decide(_ claim: Claim) -> ClaimDecision {
        let claimIndex = claimsDecided
        claimsDecided += 1

        if let ref = claim.idempotencyRef, let earlier = keyedGrants[ref] {
            let isSameClaim = earlier.resourceID == claim.resourceID && earlier.amount == claim.amount
            return isSameClaim ? .replay(of: earlier.origin) : .keyReused
        }
        guard var balance = balances[claim.resourceID] else {
            return .unknownResource
        }
        guard balance.take(claim.amount) else {
            return .refused(remaining: balance.remaining)
        }
        balances[claim.resourceID] = balance
        changedResourceIDs.insert(claim.resourceID)
        if let ref = claim.idempotencyRef {
            keyedGrants[ref] = KeyedGrant(
                resourceID: claim.resourceID,
                amount: claim.amount,
                origin: .inBatch(claimIndex: claimIndex)
            )
        }
        return .granted
    }

    /// Returns `amount` units of an earlier grant to a resource (a cancelled booking, say).
    ///
    /// The resource's balance must have been loaded, and the grant must be live: releasing the same grant twice is a
    /// programmer error and traps.
    public mutating func release(resourceID: Int64, amount: Int) {
        guard var balance = balances[resourceID] else {
            preconditionFailure("releasing to resource \(resourceID), whose balance was not loaded")
        }
        balance.giveBack(amount)
        balances[resourceID] = balance
        changedResourceIDs.insert(resourceID)
    }

    /// Adds a resource created during this batch, so that later claims in the same batch can find it.
    public mutating func add(resourceID: Int64, balance: ResourceBalance) {
        precondition(balances[resourceID] == nil, "resource \(resourceID) is already known")
        balances[resourceID] = balance
    }
}

extension BatchAllocator {
    /// Decides a whole batch of claims at once: the decisions, in order, and the balances afterwards.
    public static func decide(
        _ claims: [Claim],
        balances: [Int64: ResourceBalance],
        storedGrants: [IdempotencyRef: KeyedGrant] = [:]
    ) -> (decisions: [ClaimDecision], balances: [Int64: ResourceBalance]) {
        var allocator = BatchAllocator(balances: balances, storedGrants: storedGrants)
        let decisions = claims.map { allocator.decide($0) }
        return (decisions, allocator.balances)
    }
}
