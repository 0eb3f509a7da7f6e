import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// The flags that make `stress run` one shard of a run spread over several machines.
struct ShardOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Run shard K of N (K from 0, as JOB_COMPLETION_INDEX counts): users K, K+N, K+2N… Also from the "
                + "environment: TURNSTILE_SHARD=K/N, or TURNSTILE_SHARDS=N with JOB_COMPLETION_INDEX.",
            valueName: "K/N"))
    var shard: String?

    @Option(
        help: ArgumentHelp(
            "The run prepared once for every shard (`turnstile stress prepare … --out run.json`), a file or an "
                + "http(s):// URL: its id and set-up, so every shard races the same things.", valueName: "file|url"))
    var prepared: String?

    @Option(
        name: .customLong("start-at"),
        help: ArgumentHelp(
            "Start the first phase at this wall-clock instant (RFC 3339, e.g. 2026-12-05T10:00:00Z, or Unix "
                + "seconds): a barrier writes its requests but for their last bytes first, then releases at it.",
            valueName: "time"))
    var startAt: String?

    /// The shard `--shard` names, or else the environment; nil when neither does.
    func given() throws(ScenarioError) -> Shard? {
        if let shard { return try Shard(parsing: shard) }
        return try Shard.fromEnvironment(ProcessInfo.processInfo.environment)
    }

    var isSharded: Bool { ((try? given()) ?? nil) != nil }

    func validate() throws {
        let given: Shard?
        do { given = try self.given() } catch { throw ValidationError(error.message) }
        if let startAt, Self.instant(startAt) == nil {
            throw ValidationError("--start-at takes RFC 3339 (2026-12-05T10:00:00Z) or Unix seconds, not '\(startAt)'")
        }
        if let startAt, let instant = Self.instant(startAt), instant.timeIntervalSinceNow > LoadLimits.startAtAheadMax {
            throw ValidationError("--start-at is more than a day ahead (\(startAt)): a shard waits for it")
        }
        if given == nil, prepared != nil || startAt != nil {
            throw ValidationError("--prepared and --start-at are for a shard: add --shard K/N")
        }
    }

    /// The plan for this shard, or nil when the run is not sharded.
    func plan(
        for scenario: ScenarioFile, runID: String?, overrides: [String: ScenarioValue], tls: TLSOptions
    ) async throws -> ShardPlan? {
        do throws(ScenarioError) {
            guard let shard = try given() else { return nil }
            var run: PreparedRun?
            if let prepared { run = try await PreparedRun.load(prepared, for: scenario, tls: tls) }
            if run != nil, !overrides.isEmpty {
                throw ScenarioError(
                    "the prepared run fixed the variables' values: give --set to `prepare`, not to a shard")
            }
            return try ShardPlan(
                shard: shard, scenario: scenario, prepared: run, startAt: startAt.flatMap(Self.instant), runID: runID)
        } catch {
            throw ScenarioOptions.fail(error)
        }
    }

    static func instant(_ text: String) -> Date? {
        if let seconds = Double(text), seconds > 0 { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

/// `turnstile stress prepare FILE`: the set-up of a sharded run, once.
struct StressPrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Send a scenario's set-up once and write what every shard of the run shares.",
        discussion: """
            For a run spread over several machines (docs/distributed.md): the set-up (the event raced, the item \
            sold) is sent once, as the first user (provisioned for it), and the run's id, its variables and what \
            the set-up captured are written to --out. Start every shard with --prepared and that file, and merge \
            their results with `turnstile stress merge … --prepared` and the same file. It holds the first user's \
            values (a token, if the scenario captures one): keep it as private as the target's credentials.

            Examples:
              turnstile stress prepare scenarios/race.yaml --target http://10.0.0.5:8080 --set users=40000 --out run.json
              turnstile stress run scenarios/race.yaml --target http://10.0.0.5:8080 --shard 0/4 --prepared run.json \\
                  --start-at 2026-12-05T10:00:00Z --json shard-0.json
            """)

    @Argument(help: ArgumentHelp("The scenario file.", valueName: "file"))
    var file: String

    @OptionGroup var scenario: ScenarioOptions

    @OptionGroup var api: TargetOptions

    @Option(help: ArgumentHelp("Where to write the prepared run.", valueName: "file"))
    var out: String

    @Option(name: .customLong("run-id"), help: ArgumentHelp("The run's id (random unless given).", valueName: "id"))
    var runID: String?

    func validate() throws {
        _ = try scenario.overrides
        try OutputPath.validate(out, flag: "--out")
    }

    func run() async throws {
        let loaded = try ScenarioOptions.load(file)
        let target: LoadTarget
        do { target = try LoadTarget(parsing: api.target) } catch { throw ValidationError("\(error)") }
        let runner = ScenarioRunner(loaded, context: SuiteContext(target: target), overrides: try scenario.overrides)
        let prepared: PreparedRun
        do {
            prepared = try await runner.prepare(runID: runID ?? RunReport.newRunID())
        } catch let error as ScenarioError {
            throw ScenarioOptions.fail(error)
        } catch {
            throw ScenarioOptions.fail(ScenarioError(StressRun.describe(error, target: target)))
        }
        RunOutput.write([(out, try prepared.encoded())], what: out)
        print("run \(prepared.runID) prepared: \(loaded.setup.count) set-up request(s) sent; written to \(out)")
    }
}
