extension TurnstileError {
    /// A claim refused for want of what is left, as callers see it by kind of resource.
    static func refusal(of claim: Claim, remaining: Int) -> TurnstileError {
        switch claim.resource {
        case .seats: .soldOut(requested: claim.amount, available: remaining)
        case .stock: .insufficientStock(requested: claim.amount, available: remaining)
        case .credits: .insufficientCredits(requested: claim.amount, balance: remaining)
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
