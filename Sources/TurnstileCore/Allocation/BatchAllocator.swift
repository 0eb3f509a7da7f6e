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
///   retry under the same key is judged afresh. A refusal that made a row of its own (a place on a waitlist) is
///   remembered (``remember(_:decidedAt:)``), so its retry is a replay too.
///
/// ```swift
/// let seats = ResourceKey.seats(eventID: 42)
/// var allocator = BatchAllocator(balances: [seats: ResourceBalance(capacity: 10, remaining: 3)])
/// allocator.decide(Claim(resource: seats, amount: 5, userID: 1))  // .refused(remaining: 3)
/// allocator.decide(Claim(resource: seats, amount: 2, userID: 2))  // .granted
/// allocator.balances[seats]?.remaining                            // 1
/// ```
public struct BatchAllocator: Sendable {
    /// The balance of every resource this batch may touch, as decided so far.
    public private(set) var balances: [ResourceKey: ResourceBalance]
    /// The resources whose balance this batch changed; only these need writing back.
    public private(set) var changedResources: Set<ResourceKey> = []
    /// How many claims this allocator has decided; the next claim's index in ``GrantOrigin/inBatch(claimIndex:)``.
    public private(set) var claimsDecided = 0

    private var keyedGrants: [IdempotencyRef: KeyedGrant]

    /// Creates an allocator for one batch.
    /// - Parameters:
    ///   - balances: the current balance of each resource the batch may claim from or release to.
    ///   - storedGrants: the grants already committed under the batch's idempotency keys.
    public init(balances: [ResourceKey: ResourceBalance], storedGrants: [IdempotencyRef: KeyedGrant] = [:]) {
        self.balances = balances
        self.keyedGrants = storedGrants
    }

    /// Whether `claim` carries an idempotency key that already made a grant, stored or earlier in the batch: deciding
    /// it would answer that grant again (or refuse a different claim under the key), never take from a balance.
    public func repeatsGrant(_ claim: Claim) -> Bool {
        claim.idempotencyRef.map { keyedGrants[$0] != nil } ?? false
    }

    /// Decides one claim, the next in arrival order.
    @discardableResult
    public mutating func decide(_ claim: Claim) -> ClaimDecision {
        let claimIndex = claimsDecided
        claimsDecided += 1

        if let ref = claim.idempotencyRef, let earlier = keyedGrants[ref] {
            let isSameClaim = earlier.resource == claim.resource && earlier.amount == claim.amount
            return isSameClaim ? .replay(of: earlier.origin) : .keyReused
        }
        guard var balance = balances[claim.resource] else {
            return .unknownResource
        }
        guard balance.take(claim.amount) else {
            return .refused(remaining: balance.remaining)
        }
        balances[claim.resource] = balance
        changedResources.insert(claim.resource)
        if let ref = claim.idempotencyRef {
            keyedGrants[ref] = KeyedGrant(
                resource: claim.resource,
                amount: claim.amount,
                origin: .inBatch(claimIndex: claimIndex)
            )
        }
        return .granted
    }

    /// Remembers `claim`'s key as if the claim had been granted, without taking anything: it was refused, but what
    /// the refusal led to (a place on the waitlist) is the answer a retry under its key must replay.
    /// - Parameter claimIndex: the claim's index when it was decided (``claimsDecided`` before ``decide(_:)``).
    public mutating func remember(_ claim: Claim, decidedAt claimIndex: Int) {
        guard let ref = claim.idempotencyRef else { return }
        precondition(keyedGrants[ref] == nil, "a claim whose key made a grant is a replay, never refused")
        keyedGrants[ref] = KeyedGrant(
            resource: claim.resource, amount: claim.amount, origin: .inBatch(claimIndex: claimIndex))
    }

    /// Returns `amount` units of an earlier grant to a resource (a cancelled booking, say).
    ///
    /// The resource's balance must have been loaded, and the grant must be live: releasing the same grant twice is a
    /// programmer error and traps.
    public mutating func release(_ resource: ResourceKey, amount: Int) {
        guard var balance = balances[resource] else {
            preconditionFailure("releasing to \(resource), whose balance was not loaded")
        }
        balance.giveBack(amount)
        balances[resource] = balance
        changedResources.insert(resource)
    }

    /// Adds `amount` new units to a resource (a credit top-up): later claims in the batch may take them.
    public mutating func grow(_ resource: ResourceKey, by amount: Int) {
        guard var balance = balances[resource] else {
            preconditionFailure("growing \(resource), whose balance was not loaded")
        }
        balance.grow(by: amount)
        balances[resource] = balance
        changedResources.insert(resource)
    }

    /// Adds a resource created during this batch, so that later claims in the same batch can find it.
    public mutating func add(_ resource: ResourceKey, balance: ResourceBalance) {
        precondition(balances[resource] == nil, "\(resource) is already known")
        balances[resource] = balance
    }
}

extension BatchAllocator {
    /// Decides a whole batch of claims at once: the decisions, in order, and the balances afterwards.
    public static func decide(
        _ claims: [Claim],
        balances: [ResourceKey: ResourceBalance],
        storedGrants: [IdempotencyRef: KeyedGrant] = [:]
    ) -> (decisions: [ClaimDecision], balances: [ResourceKey: ResourceBalance]) {
        var allocator = BatchAllocator(balances: balances, storedGrants: storedGrants)
        let decisions = claims.map { allocator.decide($0) }
        return (decisions, allocator.balances)
    }
}
