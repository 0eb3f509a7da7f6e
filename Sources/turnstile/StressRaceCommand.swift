import ArgumentParser
import TurnstileLoad

/// `turnstile stress race`: buyers released at the same instant on one event, then the books checked.
struct StressRaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "race",
        abstract: "Release many buyers at once on one event and check that exactly the right number succeed.",
        discussion: """
            Every buyer's request is written up to its last byte first; the last bytes go out together, and the \
            report states the release spread. Afterwards: successes = min(users, capacity ÷ seats), every other \
            answer a 409, seats left = capacity − granted ≥ 0, and stored bookings = 201s.
            """
    )

    @OptionGroup var options: StressOptions

    @Option(help: "Buyers, each with their own account.")
    var users = 100

    @Option(help: "Seats of the contested event.")
    var capacity = 10

    @Option(help: "Seats each buyer asks for.")
    var seatsPerUser = 1

    @Flag(
        help:
            "Run the classic grid instead: 100→10, 300→299, 300 buyers of 10 seats → 10 seats, and the stock race (20 buyers → 5 units)."
    )
    var grid = false

    func validate() throws {
        guard users >= 1, capacity >= 1, seatsPerUser >= 1 else {
            throw ValidationError("--users, --capacity and --seats-per-user must be at least 1")
        }
        guard users <= LoadLimits.barrierUsersMax else {
            throw ValidationError("--users may be at most \(LoadLimits.barrierUsersMax): each buyer holds a connection")
        }
    }

    func run() async throws {
        let races = grid ? RaceSuite.grid : [.init(users: users, capacity: capacity, seatsPerUser: seatsPerUser)]
        try await options.runSuite("race") { context, report in
            guard grid else { return try await RaceSuite(context).run(races, into: &report) }
            let drop = OrdersSuite.classicDrop
            let users = try await context.provision(max(races.map(\.users).max() ?? 0, drop.buyers))
            try await RaceSuite(context).run(races, into: &report, users: users)
            try await OrdersSuite(context).runDrop(drop, users: users, into: &report)
        }
    }
}
