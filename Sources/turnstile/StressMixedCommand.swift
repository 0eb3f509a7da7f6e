import ArgumentParser
import NIOCore
import TurnstileLoad

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

    /// The load's shape, and how many users it needs.
    func shape(timeouts: HTTPClientConnection.Timeouts) throws -> (MixedSuite.Shape, users: Int) {
        if let stages {
            let ramp = try RampExecutor(parsing: stages, timeouts: timeouts)
            return (.ramp(ramp), ramp.usersMax)
        }
        if let rate { return (.open(rate: rate, rateEnd: rateEnd, duration: duration.timeAmount), users) }
        return (.closed(duration: duration.timeAmount, thinkTime: thinkTime?.timeAmount ?? .zero), users)
    }

    /// Provisions the users and runs `mix` as one phase, then checks its invariants.
    func run(_ mix: MixedSuite.Mix, suite name: String, options: StressOptions) async throws -> Never {
        let (shape, needed) = try shape(timeouts: options.timeouts)
        try await options.runSuite(name, endpoints: mix.endpoints) { context, report in
            context.progress?.note("provisioning \(needed) users…")
            let provisioned = try await context.provision(needed)
            try await MixedSuite(mix: mix, context: context).run(name, users: provisioned, shape: shape, into: &report)
        }
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
        try await shape.run(.classic, suite: "mixed", options: options)
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
            try await shape.run(.readHeavy, suite: "throughput", options: options)
        }
        let target = try LoadTarget(parsing: "http://127.0.0.1")
        let (loadShape, needed) = try shape.shape(timeouts: options.timeouts)
        let (thresholds, runID, timeouts) = (try options.parsedThresholds, options.run.newRunID, options.timeouts)
        try await options.run.perform("throughput", target: "the embedded service", embedded: true) { progress in
            await StressRun.execute(
                suite: "throughput", target: target, thresholds: thresholds,
                endpoints: MixedSuite.Mix.readHeavy.endpoints, runID: runID
            ) { report in
                try await EmbeddedService.compareCache(
                    users: needed, shape: loadShape, timeouts: timeouts, progress: progress, into: &report)
            }
        }
    }
}

/// `turnstile stress stress`: ramp until it breaks.
struct StressBreakingPointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract:
            "Ramp mixed traffic in stages (doubling users) until failures or p99 pass a limit: the breaking point.",
        discussion: """
            Examples:
              turnstile stress stress --start-users 8 --max-users 256
              turnstile stress breaking-point --stage-duration 10s --max-p99 200ms
            """,
        aliases: ["breaking-point"])

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

    func run() async throws {
        let suite = BreakingPointSuite(
            startUsers: startUsers, usersMax: maxUsers, stageDuration: stageDuration.timeAmount,
            failureRatioMax: maxErrorPercent / 100, p99MicrosecondsMax: UInt64(maxP99.timeAmount.nanoseconds / 1_000))
        try await options.runSuite("stress", endpoints: MixedSuite.Mix.classic.endpoints) { context, report in
            try await suite.run(context, into: &report)
        }
    }
}
