import Foundation

/// One change to a user's credit balance. The balance is always the sum of the account's entries: top-ups add,
/// deductions subtract, and nothing changes a balance without an entry.
public struct LedgerEntry: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case topUp = "topup"
        case deduction = "deduct"
    }

    public let id: Int64
    public let userID: Int64
    public let kind: Kind
    /// The change to the balance: positive for a top-up, negative for a deduction.
    public let amount: Int
    /// The balance right after this entry.
    public let balanceAfter: Int
    /// Why credits were deducted, as the client said.
    public let reason: String?
    public let createdAt: Date

    public init(
        id: Int64, userID: Int64, kind: Kind, amount: Int, balanceAfter: Int, reason: String?, createdAt: Date
    ) {
        precondition((kind == .topUp) == (amount > 0) && amount != 0, "top-ups add and deductions subtract")
        precondition(balanceAfter >= 0, "a balance is never negative")
        self.id = id
        self.userID = userID
        self.kind = kind
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.reason = reason
        self.createdAt = createdAt
    }
}

/// A user's credits: what was ever topped up (`total`), what was spent (`used`) and what is left (`balance`).
public struct CreditAccount: Equatable, Sendable {
    public let userID: Int64
    public let total: Int
    public let balance: Int

    public init(userID: Int64, total: Int, balance: Int) {
        self.userID = userID
        self.total = total
        self.balance = balance
    }

    public init(userID: Int64, _ balance: ResourceBalance) {
        self.init(userID: userID, total: balance.capacity, balance: balance.remaining)
    }

    public var used: Int { total - balance }
    /// Whether the balance has fallen to ``Limits/creditLowBalanceThreshold`` or below.
    public var isLow: Bool { balance <= Limits.creditLowBalanceThreshold }
}

/// A validated top-up.
public struct TopUpRequest: Equatable, Sendable {
    public let userID: Int64
    public let amount: Int

    public init(userID: Int64, amount: Int) throws(TurnstileError) {
        try Validate.number(amount, field: "amount", in: 1...Limits.creditTopUpMax)
        self.userID = userID
        self.amount = amount
    }
}

/// A validated deduction: a claim on the user's own balance.
public struct DeductionRequest: Equatable, Sendable {
    public let claim: Claim
    public let reason: String

    public init(userID: Int64, amount: Int, reason: String, idempotencyKey: String?) throws(TurnstileError) {
        try Validate.number(amount, field: "amount", in: 1...Limits.creditTopUpMax)
        self.reason = try Validate.text(reason, field: "reason", lengthMax: Limits.ledgerReasonLengthMax)
        try Validate.idempotencyKey(idempotencyKey)
        claim = Claim(
            resource: .credits(userID: userID), amount: amount, userID: userID, idempotencyKey: idempotencyKey)
    }
}
