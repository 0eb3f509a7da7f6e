import ArgumentParser
import TurnstileCore
import TurnstileLoad

/// `turnstile stress race`: buyers released at the same instant on one event, then the books checked.
struct StressRaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "race",
        abstract: "Release many buyers at once on one event and check that exactly the right number succeed.",
        discussion: """
            Every buyer's request is written but for its end first (the final CRLF of its head, and its body); the \
            ends go out together, and the report states the release spread. Afterwards: successes = min(users, \
            capacity ÷ amount), every other answer a 409, seats left = capacity − granted ≥ 0, and stored \
            bookings = 201s. A race whose bookings the target refuses as requests (e.g. 422) did not happen: exit 3. \
            It runs the bundled scenarios/race.yaml (the grid adds scenarios/orders.yaml): `turnstile stress run \
            scenarios/race.yaml --set users=100` is the same test, and a copy of the file is where to start for \
            another API.

            Examples:
              turnstile stress race --target http://127.0.0.1:8080 --users 100 --capacity 10
              turnstile stress race -c 300 --capacity 10 --amount 10
              turnstile stress race --grid --json race.json
            """
    )

    @OptionGroup var options: StressOptions

    @Option(name: [.customLong("users"), .customShort("c")], help: "Buyers, each with their own account.")
    var users = 100

    @Option(help: "Seats of the contested event.")
    var capacity = 10

    @Option(help: "Seats each buyer asks for.")
    var amount = 1

    @Flag(
        help:
            "Run the classic grid instead: 100→10, 300→299, 300 buyers of 10 seats → 10 seats, and the stock race (20 buyers → 5 units)."
    )
    var grid = false

    func validate() throws {
        try UserCount.validate(users)
        guard (1...Limits.eventSeatCountMax).contains(capacity) else {
            throw ValidationError("--capacity must be 1...\(Limits.eventSeatCountMax): the service's seats per event")
        }
        guard (1...Limits.bookingSeatCountMax).contains(amount) else {
            throw ValidationError("--amount must be 1...\(Limits.bookingSeatCountMax): the service's seats per booking")
        }
    }

    func run() async throws {
        // The bundled scenarios/race.yaml (and, for the grid, scenarios/orders.yaml), on users provisioned once.
        let races: [[String: ScenarioValue]] =
            grid
            ? [
                ["users": 100, "capacity": 10], ["users": 300, "capacity": 299],
                ["users": 300, "capacity": 10, "amount": 10],
            ] : [["users": .int(users), "capacity": .int(capacity), "amount": .int(amount)]]
        var scenarios = try races.map { try ScenarioOptions.bundled(.race, $0) }
        if grid { scenarios.append(try ScenarioOptions.bundled(.orders, [:])) }
        try await CommandRun(options.run).scenarios(
            "race", scenarios, target: try options.loadTarget, endpoints: grid ? ["book", "order"] : ["book"])
    }
}

/// The count of virtual users every suite takes as `--users` (or `-c`).
enum UserCount {
    /// Throws unless `users` is at least `minimum` and at most what a barrier can hold (each user a connection).
    static func validate(_ users: Int, minimum: Int = 1, flag: String = "--users") throws {
        guard users >= minimum else { throw ValidationError("\(flag) must be at least \(minimum)") }
        guard users <= LoadLimits.barrierUsersMax else {
            throw ValidationError("\(flag) may be at most \(LoadLimits.barrierUsersMax): each user holds a connection")
        }
    }
}
