import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// `turnstile stress run FILE`: a scenario file against any HTTP API.
struct StressRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario file (YAML or JSON) against any HTTP API and judge its invariants.",
        discussion: """
            A scenario says who the users are and how they get their identity, what to set up, the phases of \
            traffic (barrier, closed, open, ramp), what to read back afterwards, and the invariants that must then \
            hold. Reference and tutorial: docs/scenarios.md. The built-in suites' own scenarios are in scenarios/.

            Examples:
              turnstile stress run scenarios/race.yaml --target http://127.0.0.1:8080
              turnstile stress run shop.yaml --set users=500 --set stock=50 --json shop.json
              turnstile stress run shop.yaml --threshold 'buy:p99<200ms'
              turnstile stress run throughput.yaml --set cache=on --versus cache=off --json cache.json

            With --versus, the scenario runs twice: first as --set says (A), then with the --versus values over \
            those (B), each a run of its own with its own report; then the two are set side by side as \
            `turnstile report compare` does. --json FILE writes FILE.a.json and FILE.b.json; --csv FOLDER writes \
            FOLDER/a, FOLDER/b and FOLDER/compare.csv; --html FILE writes the side-by-side page. The exit code is \
            the worse of the two runs'.
            """
    )

    @Argument(help: ArgumentHelp("The scenario file.", valueName: "file"))
    var file: String

    @OptionGroup var scenario: ScenarioOptions

    @Option(
        name: .customLong("versus"),
        help: ArgumentHelp(
            "Run the scenario a second time with this variable's value (over --set) and compare the two runs side "
                + "by side; repeat for several. E.g. --set cache=on --versus cache=off.",
            valueName: "name=value"))
    var versus: [String] = []

    // Not `StressOptions`: a scenario's paths are its own, so a target with a base path (…/api) is fine here.
    @OptionGroup var api: TargetOptions

    @OptionGroup(title: "Sharding (one run over several machines: docs/distributed.md)") var sharding: ShardOptions

    @OptionGroup var options: RunOptions

    func validate() throws {
        _ = try scenario.overrides
        if sharding.isSharded, !versus.isEmpty { throw ValidationError("--versus and --shard do not go together") }
        _ = try ScenarioOptions.values(versus, flag: "--versus")
        do { _ = try options.target(api.target) } catch {
            throw ValidationError("\(error)")
        }
        if !versus.isEmpty, options.live.dashboard != nil {
            throw ValidationError("--versus runs twice; the dashboard shows one run: leave out --dashboard")
        }
        if !versus.isEmpty, options.json == "-" {
            throw ValidationError("--versus writes two results: give --json a file name, not '-'")
        }
    }

    func run() async throws {
        let loaded = try ScenarioOptions.load(file)
        if !versus.isEmpty {
            try await CommandRun(options).versus(
                loaded, overrides: try scenario.overrides,
                versus: try ScenarioOptions.values(versus, flag: "--versus"), target: try options.target(api.target))
        }
        let shard = try await sharding.plan(
            for: loaded, runID: options.runID, overrides: try scenario.overrides, tls: options.tls)
        try await CommandRun(options).scenarios(
            loaded.name, [(loaded, try scenario.overrides)], target: try options.target(api.target),
            thresholds: loaded.thresholds, endpoints: loaded.endpoints, shard: shard)
    }
}

/// `turnstile stress check FILE`: reads and checks a scenario without sending anything.
struct StressCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a scenario file without sending anything: its keys, expressions, templates and CSV.",
        discussion: """
            Prints what the scenario will do, or the first mistake with its file, line and column (exit 3).

            Examples:
              turnstile stress check shop.yaml
              turnstile stress check scenarios/race.yaml --set users=300
            """
    )

    @Argument(help: ArgumentHelp("The scenario file.", valueName: "file"))
    var file: String

    @OptionGroup var scenario: ScenarioOptions

    func validate() throws {
        _ = try scenario.overrides
    }

    func run() async throws {
        let loaded = try ScenarioOptions.load(file)
        let overrides = try scenario.overrides
        let runner = ScenarioRunner(loaded, context: SuiteContext(target: .localDefault), overrides: overrides)
        let variables: [String: ScenarioValue]
        let users: Int
        do {
            variables = try runner.variables(runID: "check")
            users = try runner.users(in: variables)
        } catch {
            throw ScenarioOptions.fail(error)
        }
        print(Format.printable(ScenarioOptions.describe(loaded, variables: variables, users: users)))
    }
}

/// The flags of a scenario run: variable values from the command line.
struct ScenarioOptions: ParsableArguments {
    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a variable of the scenario, over its default; repeat for several. E.g. --set users=500.",
            valueName: "name=value"))
    var assignments: [String] = []

    /// The `--set` values: whole numbers, decimals, true and false as such, anything else as text.
    var overrides: [String: ScenarioValue] {
        get throws { try Self.values(assignments, flag: "--set") }
    }

    /// `name=value` assignments of `flag`, read as `--set` reads them.
    static func values(_ assignments: [String], flag: String) throws -> [String: ScenarioValue] {
        var values: [String: ScenarioValue] = [:]
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("\(flag) \(assignment): write name=value, e.g. \(flag) users=500")
            }
            let text = String(assignment[assignment.index(after: equals)...])
            values[String(assignment[..<equals])] =
                Int(text).map { .int($0) } ?? Double(text).map { .double($0) }
                ?? (text == "true" || text == "false" ? .bool(text == "true") : .string(text))
        }
        return values
    }

    /// Reads and checks a scenario file; a mistake in it ends the command with one line, exit 3.
    static func load(_ path: String) throws -> ScenarioFile {
        do {
            return try ScenarioFile(contentsOf: URL(fileURLWithPath: path), name: path)
        } catch {
            throw fail(error)
        }
    }

    /// Prints a scenario's mistake as one line on standard error; the error to throw ends the command with exit 3.
    static func fail(_ error: ScenarioError) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(Format.printable(error.description))\n".utf8))
        return ExitCode(RunExit.couldNotRun)
    }

    /// What `check` prints: the scenario's parts, in a few lines.
    static func describe(_ scenario: ScenarioFile, variables: [String: ScenarioValue], users count: Int) -> String {
        var lines = ["\(scenario.file): OK — \(scenario.name)"]
        if let summary = scenario.summary { lines.append("  \(summary)") }
        if !scenario.variables.isEmpty {
            lines.append(
                "  variables: "
                    + scenario.variables.map { "\($0.name)=\(variables[$0.name]?.description ?? "")" }
                    .joined(separator: ", "))
        }
        let users = scenario.users
        lines.append(
            "  users: \(count)" + (users.count.map { $0.text == String(count) ? "" : " (\($0.text))" } ?? "")
                + (users.accounts.map { ", accounts from \($0.path) (\($0.columns.joined(separator: ", ")))" } ?? "")
                + ", \(users.provision.count) provisioning request\(users.provision.count == 1 ? "" : "s") each")
        lines.append("  set-up: \(scenario.setup.count) request\(scenario.setup.count == 1 ? "" : "s")")
        for (phase, name) in zip(scenario.phases, scenario.phaseNames(with: variables)) {
            let requests = phase.tasks.flatMap(\.steps).map(\.name.text)
            lines.append("  phase '\(name)': \(phase.executor.name), \(requests.joined(separator: ", "))")
        }
        for process in scenario.processes {
            lines.append("  process '\(process.name)': \(process.command.map(\.text).joined(separator: " "))")
        }
        for link in scenario.proxies {
            lines.append("  proxy '\(link.name)': \(link.listen.text) → \(link.upstream.text)")
        }
        let names = scenario.phaseNames(with: variables)
        for fault in scenario.faults {
            lines.append(
                "  fault '\(fault.name)': \(fault.kind) in '\(names[fault.phase])', \(fault.startText), "
                    + fault.lengthText)
        }
        lines.append("  read-back: \(scenario.readback.count) request\(scenario.readback.count == 1 ? "" : "s")")
        lines.append(
            "  invariants: \(scenario.invariants.count); thresholds: \(scenario.thresholds.count)"
                + (scenario.requirements.isEmpty ? "" : "; requirements: \(scenario.requirements.count)"))
        return lines.joined(separator: "\n")
    }
}

extension ScenarioOptions {
    /// A bundled scenario with `overrides`, for the built-in suites.
    static func bundled(
        _ scenario: BundledScenario, _ overrides: [String: ScenarioValue]
    ) throws
        -> (ScenarioFile, [String: ScenarioValue])
    {
        do { return (try scenario.load(), overrides) } catch { throw fail(error) }
    }
}

extension LoadTarget {
    /// Where `turnstile serve` listens by default.
    static let localDefault = try! LoadTarget(parsing: "http://127.0.0.1:8080")
}
