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
            """
    )

    @Argument(help: ArgumentHelp("The scenario file.", valueName: "file"))
    var file: String

    @OptionGroup var scenario: ScenarioOptions

    // Not `StressOptions`: a scenario's paths are its own, so a target with a base path (…/api) is fine here.
    @Option(help: "The API under test: its http:// or https:// base URL; the scenario's paths are appended to it.")
    var target = "http://127.0.0.1:8080"

    @OptionGroup var options: RunOptions

    func validate() throws {
        _ = try scenario.overrides
        do { _ = try options.target(target) } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let loaded = try ScenarioOptions.load(file)
        try await ScenarioOptions.run(
            loaded.name, [(loaded, try scenario.overrides)],
            target: try options.target(target),
            options: options,
            thresholds: loaded.thresholds, endpoints: loaded.endpoints)
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
        get throws {
            var values: [String: ScenarioValue] = [:]
            for assignment in assignments {
                guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                    throw ValidationError("--set \(assignment): write name=value, e.g. --set users=500")
                }
                let text = String(assignment[assignment.index(after: equals)...])
                values[String(assignment[..<equals])] =
                    Int(text).map { .int($0) } ?? Double(text).map { .double($0) }
                    ?? (text == "true" || text == "false" ? .bool(text == "true") : .string(text))
            }
            return values
        }
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
    /// Runs scenarios one after another as one run of suite `name`, sharing their users where their provisioning
    /// is the same, and ends the command with the report's exit code. `thresholds` (the files') are judged with the
    /// command line's.
    static func run(
        _ name: String, _ scenarios: [(ScenarioFile, [String: ScenarioValue])], target: LoadTarget,
        options: RunOptions, thresholds: [String] = [], endpoints: [String]?
    ) async throws -> Never {
        var allThresholds = try thresholds.map { try Threshold(parsing: $0) } + (try options.parsedThresholds)
        // A run in which most requests failed must not pass for want of a limit, as a run of Locust would not.
        if !allThresholds.contains(where: { $0.metric == .failurePercent }) { allThresholds.append(.failuresDefault) }
        let runID = options.newRunID
        try await options.perform(name, target: target.description) { progress in
            let context = SuiteContext(
                target: target, timeouts: options.timeouts, progress: progress, setupTimeouts: options.setupTimeouts)
            let pool = ScenarioUserPool()
            return await StressRun.execute(
                suite: name, target: target, thresholds: allThresholds, endpoints: endpoints, runID: runID
            ) { report in
                for (scenario, overrides) in scenarios {
                    try await ScenarioRunner(
                        scenario, context: context, overrides: overrides, pool: pool,
                        logFolder: options.logFolder(runID: runID)
                    ).run(into: &report)
                }
            }
        }
    }

    /// A bundled scenario with `overrides`, for the built-in suites.
    static func bundled(
        _ scenario: BundledScenario, _ overrides: [String: ScenarioValue]
    ) throws
        -> (ScenarioFile, [String: ScenarioValue])
    {
        do { return (try scenario.load(), overrides) } catch { throw fail(error) }
    }
}

extension StressOptions {
    /// Runs scenarios as suite `name` against the target (see ``ScenarioOptions/run``).
    func runScenarios(
        _ name: String, _ scenarios: [(ScenarioFile, [String: ScenarioValue])], endpoints: [String]?
    ) async throws -> Never {
        try await ScenarioOptions.run(name, scenarios, target: try loadTarget, options: run, endpoints: endpoints)
    }
}

extension LoadTarget {
    /// Where `turnstile serve` listens by default.
    static let localDefault = try! LoadTarget(parsing: "http://127.0.0.1:8080")
}
