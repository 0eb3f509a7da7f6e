import ArgumentParser
import NIOCore
import TurnstileLoad
import TurnstileReport

/// Flags shared by the suites that loop provisioned users over a mix of requests.
struct LoadShapeOptions: ParsableArguments {
    @Option(
        name: [.customLong("users"), .customShort("c")],
        help: "Virtual users, each with their own account and connection.")
    var users = 50

    @Option(name: [.customLong("duration"), .customShort("d")], help: "How long: e.g. 10s, 500ms, 2m.")
    var duration = DurationArgument(seconds: 10)

    @Option(
        name: [.customLong("rate"), .customShort("R")],
        help: "Requests per second for an open-loop run (latency from the intended start); closed-loop without.")
    var rate: Double?

    @Option(help: "With --rate: ramp the arrival rate linearly to this many requests per second by the end.")
    var rateEnd: Double?

    @Option(help: "Closed loop: how long each user waits after an answer before its next request, e.g. 100ms.")
    var thinkTime: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "Ramp in closed-loop stages instead, USERS:DURATION each, e.g. 10:5s,50:10s,100:10s.",
            discussion: "Each stage is a phase of its own; --users and --duration are then ignored.",
            valueName: "stages"))
    var stages: String?

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let rateEnd {
            guard rate != nil, rateEnd > 0 else {
                throw ValidationError("--rate-end needs --rate, and must be positive")
            }
        }
        if thinkTime != nil, rate != nil { throw ValidationError("--think-time applies to closed loops, not --rate") }
        if let stages {
            guard rate == nil else { throw ValidationError("--stages and --rate cannot be combined") }
            do { _ = try RampExecutor(parsing: stages) } catch { throw ValidationError("\(error)") }
        }
    }

    /// The bundled `file` shaped as these flags say: its users, duration and think time set, and its phase made
    /// open (`--rate`) or a ramp (`--stages`) when asked.
    func scenario(_ file: BundledScenario) throws -> (ScenarioFile, [String: ScenarioValue]) {
        var (scenario, overrides) = try ScenarioOptions.bundled(
            file,
            [
                "users": .int(users), "duration": .string(DurationArgument.describe(duration.timeAmount)),
                "think": .string(thinkTime.map { DurationArgument.describe($0.timeAmount) } ?? "0ms"),
            ])
        let here = SourcePosition(file: "the command line", line: 1, column: 1)
        if let stages {
            let ramp = try RampExecutor(parsing: stages)
            scenario.phases[0].executor = .ramp(
                stages: try ramp.stages.map {
                    (
                        try ScenarioExpression(String($0.users), at: here),
                        try ScenarioTemplate(DurationArgument.describe($0.duration), at: here)
                    )
                }, stop: nil)
            overrides["users"] = .int(ramp.usersMax)
        } else if let rate {
            scenario.phases[0].executor = .open(
                rate: try ScenarioExpression(String(rate), at: here),
                rateEnd: try rateEnd.map { try ScenarioExpression(String($0), at: here) },
                duration: try ScenarioTemplate("${duration}", at: here), connections: nil)
        }
        return (scenario, overrides)
    }
}

/// `turnstile stress mixed`: 60 % browse, 25 % detail, 12 % book, 3 % create.
struct StressMixedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixed",
        abstract: "Realistic mixed traffic: 60 % browse, 25 % detail, 12 % book, 3 % create events.",
        discussion: """
            Endpoints, for thresholds: browse, detail, book, create. Afterwards the hot event's seats taken must \
            equal the bookings granted.

            Examples:
              turnstile stress mixed --users 50 --duration 30s --threshold 'p95<200ms' --threshold 'errors<1%'
              turnstile stress mixed -c 64 -R 2000 -d 20s
              turnstile stress mixed --stages 10:5s,50:10s,100:10s
            """)

    @OptionGroup var options: StressOptions
    @OptionGroup var shape: LoadShapeOptions

    func run() async throws {
        try await CommandRun(options.run).shaped(.mixed, shape, suite: "mixed", target: try options.loadTarget)
    }
}

/// `turnstile stress throughput`: read-heavy traffic.
struct StressThroughputCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Read-heavy traffic: half event lists, half event details.",
        discussion: """
            Endpoints, for thresholds: browse, detail. With --embedded, ignores --target: starts the service \
            in-process twice, with its read cache on and then off, and reports both phases side by side.

            Examples:
              turnstile stress throughput --users 64 --rate 2000 --duration 20s
              turnstile stress throughput --embedded -c 64
            """)

    @OptionGroup var options: StressOptions
    @OptionGroup var shape: LoadShapeOptions

    @Flag(help: "Run against an embedded service, with the read cache on and then off, and compare.")
    var embedded = false

    func run() async throws {
        guard embedded else {
            try await CommandRun(options.run).shaped(
                .throughput, shape, suite: "throughput", target: try options.loadTarget)
        }
        let target = try LoadTarget(parsing: "http://127.0.0.1")
        let scenario = try shape.scenario(.throughput)
        let thresholds = try CommandRun(options.run).thresholds(scenario.0.thresholds)
        let (runID, timeouts, setupTimeouts) = (options.run.newRunID, options.timeouts, options.setupTimeouts)
        try await CommandRun(options.run).perform("throughput", target: "the embedded service", embedded: true) {
            progress in
            await StressRun.execute(
                suite: "throughput", target: target, thresholds: thresholds, endpoints: scenario.0.endpoints,
                runID: runID
            ) { report in
                try await EmbeddedService.compareCache(
                    scenario, timeouts: timeouts, setupTimeouts: setupTimeouts, progress: progress, into: &report)
            }
        }
    }
}

/// `turnstile stress breaking-point`: ramp until it breaks.
struct StressBreakingPointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaking-point",
        abstract:
            "Ramp mixed traffic in stages (doubling users) until failures or p99 pass a limit: the breaking point.",
        discussion: """
            Runs the bundled scenarios/mixed.yaml as a ramp with a stop condition (docs/scenarios.md, "The breaking \
            point"): it reports the breaking stage, what broke first, and the last stage that held.

            Examples:
              turnstile stress breaking-point --start-users 8 --max-users 256
              turnstile stress breaking-point --stage-duration 10s --max-p99 200ms
            """)

    @OptionGroup var options: StressOptions

    @Option(help: "Users in the first stage.")
    var startUsers = 8

    @Option(help: "The most users; the last stage.")
    var maxUsers = 256

    @Option(help: "Length of each stage, e.g. 5s.")
    var stageDuration = DurationArgument(seconds: 5)

    @Option(help: "A stage breaks when more than this percentage of requests fail.")
    var maxErrorPercent = 1.0

    @Option(help: "A stage breaks when its p99 latency passes this, e.g. 500ms.")
    var maxP99 = DurationArgument(milliseconds: 500)

    func validate() throws {
        guard startUsers >= 1, maxUsers >= startUsers else {
            throw ValidationError("--start-users must be at least 1 and at most --max-users")
        }
        guard maxErrorPercent >= 0 else { throw ValidationError("--max-error-percent must not be negative") }
    }

    /// The stages' users: the first, doubling, up to the most.
    var stageUsers: [Int] {
        var stages = [startUsers]
        while stages.last! < maxUsers { stages.append(min(stages.last! * 2, maxUsers)) }
        return stages
    }

    /// The bundled mixed traffic as a ramp of doubling stages that stops at the first stage past the limits.
    func scenario() throws -> (ScenarioFile, [String: ScenarioValue]) {
        var (scenario, overrides) = try ScenarioOptions.bundled(
            .mixed, ["users": .int(maxUsers), "duration": .string(DurationArgument.describe(stageDuration.timeAmount))])
        let here = SourcePosition(file: "the command line", line: 1, column: 1)
        let p99 = Double(maxP99.timeAmount.nanoseconds) / 1e6
        scenario.phases[0].executor = .ramp(
            stages: try stageUsers.map {
                (try ScenarioExpression(String($0), at: here), try ScenarioTemplate("${duration}", at: here))
            },
            stop: try ScenarioExpression("failure_ratio > \(maxErrorPercent / 100) or p99_ms > \(p99)", at: here))
        scenario.phases[0].name = try ScenarioTemplate("mixed", at: here)
        return (scenario, overrides)
    }

    func run() async throws {
        let scenario = try self.scenario()
        try await CommandRun(options.run).scenarios(
            "breaking-point", [scenario], target: try options.loadTarget, endpoints: scenario.0.endpoints)
    }
}
