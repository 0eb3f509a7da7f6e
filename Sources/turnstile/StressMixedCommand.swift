import ArgumentParser
import NIOPosix
import TurnstileLoad

/// Flags shared by the suites that loop provisioned users over a mix of requests.
struct LoadShapeOptions: ParsableArguments {
    @Option(help: "Virtual users, each with their own account and connection.")
    var users = 50

    @Option(help: "How long: e.g. 10s, 500ms, 2m.")
    var duration = DurationArgument(seconds: 10)

    @Option(help: "Requests per second for an open-loop run (latency from the intended start); closed-loop without.")
    var rate: Double?

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    /// Provisions the users and runs `mix` as one phase, then checks its invariants.
    func run(_ mix: MixedSuite.Mix, suite name: String, options: StressOptions) async throws -> Never {
        let target = try options.loadTarget
        let group = MultiThreadedEventLoopGroup.singleton
        let progress = ProgressReporter()
        let report = await StressRun.execute(suite: name, target: target, thresholds: try options.parsedThresholds) {
            progress.note("provisioning \(users) users…")
            let provisioned = try await Provisioner(target: target, group: group, timeouts: options.timeouts)
                .provision(users, progress: progress)
            try await MixedSuite(mix: mix, target: target, group: group, timeouts: options.timeouts, progress: progress)
                .run(name, users: provisioned, duration: duration.timeAmount, rate: rate, into: &$0)
        }
        try options.finish(report)
    }
}

/// `turnstile stress mixed`: 60 % browse, 25 % detail, 12 % book, 3 % create.
struct StressMixedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixed",
        abstract: "Realistic mixed traffic: 60 % browse, 25 % detail, 12 % book, 3 % create events.",
        discussion: "Afterwards the hot event's seats taken must equal the bookings granted.")

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
        abstract: "Read-heavy traffic: half event lists, half event details.")

    @OptionGroup var options: StressOptions
    @OptionGroup var shape: LoadShapeOptions

    func run() async throws {
        try await shape.run(.readHeavy, suite: "throughput", options: options)
    }
}
