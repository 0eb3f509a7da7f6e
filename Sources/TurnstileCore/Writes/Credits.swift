/// A ledger entry, the account after it, and whether it answers a repeat of the request that made it.
public struct CreditOutcome: Equatable, Sendable {
    public let entry: LedgerEntry
    public let account: CreditAccount
    public let replayed: Bool
}

/// Adds credits to the user's balance. Refused with ``TurnstileError/creditLimitExceeded(balance:)`` past
/// ``Limits/creditBalanceMax``.
public struct TopUp: WriteOperation {
    public let request: TopUpRequest

    public init(_ request: TopUpRequest) {
        self.request = request
    }

    public var actingUserID: Int64? { request.userID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.resources.insert(.credits(userID: request.userID))
    }

    public func apply(to plan: inout BatchPlan) -> Result<CreditOutcome, TurnstileError> {
        let resource = ResourceKey.credits(userID: request.userID)
        guard let balance = plan.allocator.balances[resource] else {
            preconditionFailure("an acting user's credit balance is always loaded")
        }
        guard balance.capacity <= Limits.creditBalanceMax - request.amount else {
            return .failure(.creditLimitExceeded(balance: balance.remaining))
        }
        plan.allocator.grow(resource, by: request.amount)
        let entry = plan.recordLedgerEntry(userID: request.userID, kind: .topUp, amount: request.amount, reason: nil)
        return .success(CreditOutcome(entry: entry, account: plan.account(of: request.userID), replayed: false))
    }
}

/// Deducts credits through the allocator. Refused with ``TurnstileError/insufficientCredits(requested:balance:)``.
public struct Deduct: ClaimOperation {
    public let request: DeductionRequest

    public init(_ request: DeductionRequest) {
        self.request = request
    }

    public var claim: Claim { request.claim }

    public func apply(to plan: inout BatchPlan) -> Result<CreditOutcome, TurnstileError> {
        plan.claim(self) { plan in
            let entry = plan.recordLedgerEntry(
                userID: claim.userID, kind: .deduction, amount: -claim.amount, reason: request.reason)
            return (
                .ledgerEntry(entry),
                CreditOutcome(entry: entry, account: plan.account(of: entry.userID), replayed: false)
            )
        }
    }

    public func replay(of grant: BatchPlan.GrantRecord, on plan: BatchPlan) -> CreditOutcome? {
        guard case .ledgerEntry(let entry) = grant else { return nil }
        return CreditOutcome(entry: entry, account: plan.account(of: entry.userID), replayed: true)
    }
}
