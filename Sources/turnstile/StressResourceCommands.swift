import ArgumentParser
import TurnstileLoad

/// `turnstile stress orders`: the last-item drop, then orders paid, shipped and cancelled at once.
struct StressOrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Race buyers for the last units of a product, then move orders through pay, ship and cancel at once.",
        discussion: """
            The drop: exactly min(users, capacity) orders are created, every other buyer gets a 409, and the stock \
            left = capacity − units ordered. The lifecycle: every user orders, then all orders are paid or \
            cancelled at once, then shipped, paid again or cancelled at once; afterwards stock + units in live \
            orders = the initial stock, and every order is where its moves lead. Runs the bundled \
            scenarios/orders.yaml and scenarios/orders-lifecycle.yaml.

            Examples:
              turnstile stress orders --users 20 --capacity 5
              turnstile stress orders -c 200 --capacity 50 --lifecycle-users 0
            """
    )

    @OptionGroup var options: StressOptions

    @Option(name: [.customLong("users"), .customShort("c")], help: "Buyers in the drop, each with their own account.")
    var users = 20

    @Option(help: "Units of the contested product.")
    var capacity = 5

    @Option(help: "Users in the lifecycle run, one order each (0 skips it).")
    var lifecycleUsers = 30

    func validate() throws {
        try UserCount.validate(users)
        try UserCount.validate(lifecycleUsers, minimum: 0, flag: "--lifecycle-users")
        guard capacity >= 1 else { throw ValidationError("--capacity must be at least 1") }
    }

    func run() async throws {
        var scenarios = [try ScenarioOptions.bundled(.orders, ["users": .int(users), "capacity": .int(capacity)])]
        if lifecycleUsers > 0 {
            scenarios.append(try ScenarioOptions.bundled(.ordersLifecycle, ["users": .int(lifecycleUsers)]))
        }
        try await CommandRun(options.run).scenarios(
            "orders", scenarios, target: try options.loadTarget,
            endpoints: lifecycleUsers > 0 ? ["order", "pay", "ship", "cancel"] : ["order"])
    }
}

/// `turnstile stress credits`: many deductions from one account at once.
struct StressCreditsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credits",
        abstract: "Release many deductions from one credit account at once and check that none leaks.",
        discussion: """
            One account is topped up to --capacity credits, then --users deductions of --amount are released \
            together, each on its own connection. Exactly min(users, capacity ÷ amount) succeed, every other one \
            gets a 402, and the balance afterwards is never negative and equals the ledger's sum. Runs the bundled \
            scenarios/credits.yaml.

            Examples:
              turnstile stress credits --users 50 --amount 5 --capacity 100
              turnstile stress credits -c 500 --amount 1 --capacity 250 --json credits.json
            """
    )

    @OptionGroup var options: StressOptions

    @Option(
        name: [.customLong("users"), .customShort("c")],
        help: "Deductions released at once, each on its own connection.")
    var users = 50

    @Option(help: "Credits each deduction asks for.")
    var amount = 5

    @Option(help: "The account's balance before the race.")
    var capacity = 100

    func validate() throws {
        try UserCount.validate(users)
        guard amount >= 1, capacity >= 1 else { throw ValidationError("--amount and --capacity must be at least 1") }
    }

    func run() async throws {
        let scenario = try ScenarioOptions.bundled(
            .credits, ["users": .int(users), "amount": .int(amount), "capacity": .int(capacity)])
        try await CommandRun(options.run).scenarios(
            "credits", [scenario], target: try options.loadTarget, endpoints: ["deduct"])
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
            and its bid count the number accepted. Reports bids answered per second on the one item. Runs the \
            bundled scenarios/bids.yaml.

            Examples:
              turnstile stress bids --users 100 --rounds 5
              turnstile stress bids -c 20 --rounds 50 --threshold 'bid:p99<50ms'
            """
    )

    @OptionGroup var options: StressOptions

    @Option(name: [.customLong("users"), .customShort("c")], help: "Bidders, each with their own account.")
    var users = 100

    @Option(help: "Rounds: in each, every bidder bids once, all at the same instant.")
    var rounds = 5

    func validate() throws {
        try UserCount.validate(users)
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() async throws {
        let scenario = try ScenarioOptions.bundled(.bids, ["users": .int(users), "rounds": .int(rounds)])
        try await CommandRun(options.run).scenarios(
            "bids", [scenario], target: try options.loadTarget, endpoints: ["bid"])
    }
}
