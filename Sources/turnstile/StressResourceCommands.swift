import ArgumentParser
import TurnstileLoad

/// `turnstile stress orders`: the last-item drop, then orders paid, shipped and cancelled at once.
struct StressOrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Race buyers for the last units of a product, then move orders through pay, ship and cancel at once.",
        discussion: """
            The drop: exactly min(buyers, stock) orders are created, every other buyer gets a 409, and the stock \
            left = stock − units ordered. The lifecycle: every user orders, then all orders are paid or cancelled \
            at once, then shipped, paid again or cancelled at once; afterwards stock + units in live orders = the \
            initial stock, and every order is where its moves lead.
            """
    )

    @OptionGroup var options: StressOptions

    @Option(help: "Buyers in the drop, each with their own account.")
    var buyers = OrdersSuite.classicDrop.buyers

    @Option(help: "Units of the contested product.")
    var stock = OrdersSuite.classicDrop.stock

    @Option(help: "Users in the lifecycle run, one order each (0 skips it).")
    var lifecycleUsers = 30

    func validate() throws {
        guard buyers >= 1, stock >= 1, lifecycleUsers >= 0 else {
            throw ValidationError("--buyers and --stock must be at least 1, --lifecycle-users at least 0")
        }
        guard max(buyers, lifecycleUsers) <= LoadLimits.barrierUsersMax else {
            throw ValidationError("at most \(LoadLimits.barrierUsersMax) users: each holds a connection")
        }
    }

    func run() async throws {
        try await options.runSuite("orders") { context, report in
            let users = try await context.provision(max(buyers, lifecycleUsers))
            try await OrdersSuite(context).runDrop(.init(buyers: buyers, stock: stock), users: users, into: &report)
            if lifecycleUsers > 0 {
                try await OrdersSuite(context).runLifecycle(users: Array(users.prefix(lifecycleUsers)), into: &report)
            }
        }
    }
}

/// `turnstile stress credits`: many deductions from one account at once.
struct StressCreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credits",
        abstract: "Release many deductions from one credit account at once and check that none leaks.",
        discussion: """
            One account is topped up to --balance, then --deductions requests of --amount are released together. \
            Exactly min(deductions, balance ÷ amount) succeed, every other one gets a 402, and the balance \
            afterwards is never negative and equals the ledger's sum.
            """
    )

    @OptionGroup var options: StressOptions

    @Option(help: "Deductions released at once, each on its own connection.")
    var deductions = CreditsSuite.classic.deductions

    @Option(help: "Credits each deduction asks for.")
    var amount = CreditsSuite.classic.amount

    @Option(help: "The account's balance before the race.")
    var balance = CreditsSuite.classic.balance

    func validate() throws {
        guard deductions >= 1, amount >= 1, balance >= 1 else {
            throw ValidationError("--deductions, --amount and --balance must be at least 1")
        }
        guard deductions <= LoadLimits.barrierUsersMax else {
            throw ValidationError("--deductions may be at most \(LoadLimits.barrierUsersMax)")
        }
    }

    func run() async throws {
        let race = CreditsSuite.Race(deductions: deductions, amount: amount, balance: balance)
        try await options.runSuite("credits") { context, report in
            try await CreditsSuite(context).run(race, user: try await context.provision(1)[0], into: &report)
        }
    }
}

/// `turnstile stress bids`: many bidders on one item, in rounds.
struct StressBidsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bids",
        abstract: "Release rounds of bids from many bidders on one item and check the auction's order.",
        discussion: """
            Each round, every bidder bids at once, each a different amount above all earlier ones. Afterwards the \
            accepted bids strictly increase and are numbered 1…n, the item's highest bid is the largest accepted, \
            and its bid count the number accepted. Reports bids answered per second on the one item.
            """
    )

    @OptionGroup var options: StressOptions

    @Option(help: "Bidders, each with their own account.")
    var bidders = BidsSuite.classic.bidders

    @Option(help: "Rounds: in each, every bidder bids once, all at the same instant.")
    var rounds = BidsSuite.classic.rounds

    func validate() throws {
        guard bidders >= 1, rounds >= 1 else { throw ValidationError("--bidders and --rounds must be at least 1") }
        guard bidders <= LoadLimits.barrierUsersMax else {
            throw ValidationError("--bidders may be at most \(LoadLimits.barrierUsersMax)")
        }
    }

    func run() async throws {
        try await options.runSuite("bids") { context, report in
            let users = try await context.provision(bidders)
            try await BidsSuite(context).run(.init(bidders: bidders, rounds: rounds), users: users, into: &report)
        }
    }
}
