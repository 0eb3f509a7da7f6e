import NIOCore
import TurnstileReport

/// Credits: many deductions from one account at the same instant must never leak.
///
/// One user's account is topped up to `balance`, then `deductions` requests of `amount` each are released at once
/// on as many connections. Exactly min(deductions, balance ÷ amount) succeed (200), every other one is refused
/// (402); afterwards the balance is what it was less the deductions granted, never negative, and equals the sum of
/// the account's ledger.
public struct CreditsSuite: Sendable {
    public struct Race: Sendable, Equatable {
        public var deductions: Int
        public var amount: Int
        public var balance: Int

        public init(deductions: Int, amount: Int, balance: Int) {
            self.deductions = deductions
            self.amount = amount
            self.balance = balance
        }

        public var name: String { "credits \(deductions)×\(amount) from \(balance)" }
        public var expectedDeductions: Int { min(deductions, balance / amount) }
    }

    /// The classic race: 50 deductions of 5 from 100.
    public static let classic = Race(deductions: 50, amount: 5, balance: 100)
    /// The endpoint names its statistics use, for thresholds.
    public static let endpoints = ["deduct"]

    public let context: SuiteContext

    public init(_ context: SuiteContext) {
        self.context = context
    }

    /// Runs the race on `user`'s account, which must be empty (a freshly provisioned user's is).
    public func run(_ race: Race, user: VirtualUser, into report: inout RunReport) async throws {
        context.progress?.note("\(race.name): one account, \(race.deductions) deductions at once")
        let session = context.session()
        let before = try await session.call(
            TurnstileAPI.balance(token: user.token), expecting: 200, as: TurnstileAPI.Balance.self)
        guard before.balance == 0 else {
            throw SetupError("the credits race needs an empty account; user \(user.id) holds \(before.balance)")
        }
        _ = try await session.call(
            TurnstileAPI.topUp(amount: race.balance, token: user.token), expecting: 200,
            as: TurnstileAPI.CreditChange.self)
        let (phase, responses) = try await BarrierExecutor(timeouts: context.timeouts).run(
            race.name,
            requests: Array(
                repeating: TurnstileAPI.deduct(amount: race.amount, token: user.token), count: race.deductions),
            target: context.target, group: context.group)
        report.phases.append(phase)
        let seen = Seen(responses, success: 200, refusal: 402)
        try seen.requireCarriedOut(race.name)
        report.invariants += seen.checks(
            expected: race.expectedDeductions, attempts: race.deductions, phase: race.name, noun: "deductions")

        let after = try await session.call(
            TurnstileAPI.balance(token: user.token), expecting: 200, as: TurnstileAPI.Balance.self)
        let ledger = try await session.call(
            TurnstileAPI.transactions(token: user.token), expecting: 200, as: TurnstileAPI.Transactions.self)
        let ledgerSum = ledger.transactions.map(\.amount).reduce(0, +)
        let deducted = (race.balance - after.balance) / race.amount
        report.invariants += [
            .within(
                deducted, seen.storedRange, phase: race.name,
                rule: "deductions in the balance = 200s (+ unanswered at most): none lost, no phantom"),
            .equal(after.balance, ledgerSum, phase: race.name, rule: "balance = the ledger's sum"),
            InvariantResult(
                phase: race.name, rule: "balance ≥ 0", expected: "≥ 0", actual: String(after.balance),
                passed: after.balance >= 0),
        ]
    }
}
