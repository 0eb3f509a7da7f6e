extension TurnstileError {
    /// Translates the claim allocator's refusal decisions into the errors callers see, by kind of resource; nil for
    /// a grant or a replay.
    static func refusal(_ decision: ClaimDecision, claim: Claim) -> TurnstileError? {
        switch decision {
        case .granted, .replay: nil
        case .refused(let remaining):
            switch claim.resource {
            case .seats: .soldOut(requested: claim.amount, available: remaining)
            case .stock: .insufficientStock(requested: claim.amount, available: remaining)
            case .credits: .insufficientCredits(requested: claim.amount, balance: remaining)
            }
        case .unknownResource: .notFound(entity: claim.resource.entity, id: claim.resource.id)
        case .keyReused: .idempotencyKeyReused
        }
    }
}

extension ResourceKey {
    /// What a missing resource of this kind is called in a not-found error.
    var entity: String {
        switch self {
        case .seats: "event"
        case .stock: "product"
        case .credits: "account"
        }
    }
}
