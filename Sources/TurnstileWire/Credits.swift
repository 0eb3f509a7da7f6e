import Foundation

/// `POST /api/v1/credits/topup`.
public struct TopUpBody: Codable, Sendable, Equatable {
    public let amount: Int

    enum CodingKeys: String, CodingKey { case amount }

    public init(amount: Int) {
        self.amount = amount
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amount = try container.decodeWholeNumber(Int.self, forKey: .amount)
    }
}

/// `POST /api/v1/credits/deduct`.
public struct DeductBody: Codable, Sendable, Equatable {
    public let amount: Int
    public let reason: String

    enum CodingKeys: String, CodingKey { case amount, reason }

    public init(amount: Int, reason: String) {
        self.amount = amount
        self.reason = reason
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        amount = try container.decodeWholeNumber(Int.self, forKey: .amount)
        reason = try container.decode(String.self, forKey: .reason)
    }
}

/// The caller's credits.
public struct BalanceResponse: Codable, Sendable, Equatable {
    public let balance: Int
    public let used: Int
    public let total: Int
    public let lowBalance: Bool
    /// The balance at or below which it is low.
    public let threshold: Int

    enum CodingKeys: String, CodingKey {
        case balance, used, total, threshold
        case lowBalance = "low_balance"
    }

    public init(balance: Int, used: Int, total: Int, lowBalance: Bool, threshold: Int) {
        self.balance = balance
        self.used = used
        self.total = total
        self.lowBalance = lowBalance
        self.threshold = threshold
    }
}

/// One entry of the ledger: a top-up (`topup`, positive) or a deduction (`deduct`, negative).
public struct LedgerEntryResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let kind: String
    public let amount: Int
    public let balanceAfter: Int
    public let reason: String?
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, amount, reason
        case balanceAfter = "balance_after"
        case createdAt = "created_at"
    }

    public init(id: Int64, kind: String, amount: Int, balanceAfter: Int, reason: String?, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.reason = reason
        self.createdAt = createdAt
    }

    // `reason` is null for a top-up, so every entry has the same members.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(amount, forKey: .amount)
        try container.encode(balanceAfter, forKey: .balanceAfter)
        try container.encode(reason, forKey: .reason)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// The answer to a top-up or deduction: the ledger entry it made and the account after it.
public struct CreditChangeResponse: Codable, Sendable, Equatable {
    public let transaction: LedgerEntryResponse
    public let account: BalanceResponse

    public init(transaction: LedgerEntryResponse, account: BalanceResponse) {
        self.transaction = transaction
        self.account = account
    }
}

/// The caller's ledger, newest first.
public struct TransactionListResponse: Codable, Sendable, Equatable {
    public let transactions: [LedgerEntryResponse]

    public init(transactions: [LedgerEntryResponse]) {
        self.transactions = transactions
    }
}
