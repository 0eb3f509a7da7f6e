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
    @Option(help: "The API under test: its http:// or https:// base URL; the scenario's paths are appended to it.")
    var target = "http://127.0.0.1:8080"

    @OptionGroup(title: "Sharding (one run over several machines: docs/distributed.md)") var sharding: ShardOptions

    @OptionGroup var options: RunOptions

    func validate() throws {
        _ = try scenario.overrides
        if sharding.isSharded, !versus.isEmpty { throw ValidationError("--versus and --shard do not go together") }
        _ = try ScenarioOptions.values(versus, flag: "--versus")
        do { _ = try options.target(target) } catch {
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
            try await ScenarioOptions.runVersus(
                loaded, overrides: try scenario.overrides,
                versus: try ScenarioOptions.values(versus, flag: "--versus"), target: try options.target(target),
                options: options)
        }
        let shard = try await sharding.plan(
            for: loaded, runID: options.runID, overrides: try scenario.overrides, tls: options.tls)
        try await ScenarioOptions.run(
            loaded.name, [(loaded, try scenario.overrides)],
            target: try options.target(target),
            options: options,
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
    /// Runs scenarios one after another as one run of suite `name`, sharing their users where their provisioning
    /// is the same, and ends the command with the report's exit code. `thresholds` (the files') are judged with the
    /// command line's. `embedded`: the target runs in this process, whose resources are then watched.
    static func run(
        _ name: String, _ scenarios: [(ScenarioFile, [String: ScenarioValue])], target: LoadTarget,
        options: RunOptions, thresholds: [String] = [], endpoints: [String]?, embedded: Bool = false,
        shard: ShardPlan? = nil
    ) async throws -> Never {
        let allThresholds = try Self.thresholds(thresholds, options: options)
        let runID = shard?.runID ?? options.newRunID
        try await options.perform(name, target: target.description, embedded: embedded) { progress in
            let context = SuiteContext(
                target: target, timeouts: options.timeouts, progress: progress, setupTimeouts: options.setupTimeouts)
            let pool = ScenarioUserPool()
            return await StressRun.execute(
                suite: name, target: target, thresholds: allThresholds, endpoints: endpoints, runID: runID
            ) { report in
                for (scenario, overrides) in scenarios {
                    try await ScenarioRunner(
                        scenario, context: context, overrides: overrides, pool: shard == nil ? pool : nil,
                        logFolder: options.logFolder(runID: runID), shard: shard
                    ).run(into: &report)
                }
            }
        }
    }

    /// Runs `scenario` twice, as `overrides` say (A) and with `versus` over them (B), prints both reports and the
    /// two side by side, writes the files asked for (see `stress run --help`), and ends the command with the worse
    /// exit code of the two.
    static func runVersus(
        _ scenario: ScenarioFile, overrides: [String: ScenarioValue], versus: [String: ScenarioValue],
        target: LoadTarget, options: RunOptions
    ) async throws -> Never {
        let thresholds = try Self.thresholds(scenario.thresholds, options: options)
        /// Each side's name: the values it gives the variables --versus sets.
        func label(_ values: [String: ScenarioValue]) -> String {
            versus.keys.sorted().map { name in
                "\(name)=\(values[name] ?? scenario.variables.first { $0.name == name }?.value ?? .null)"
            }.joined(separator: ",")
        }
        let sides = [("a", overrides), ("b", overrides.merging(versus) { _, new in new })]
        var reports: [RunReport] = []
        for (side, values) in sides {
            let runID = options.newRunID
            let report = try await options.live.report { progress in
                progress.note("\(side.uppercased()): \(label(values))")
                let context = SuiteContext(
                    target: target, timeouts: options.timeouts, progress: progress,
                    setupTimeouts: options.setupTimeouts)
                return await StressRun.execute(
                    suite: scenario.name, target: target, thresholds: thresholds, endpoints: scenario.endpoints,
                    runID: runID
                ) { report in
                    try await ScenarioRunner(
                        scenario, context: context, overrides: values, logFolder: options.logFolder(runID: runID)
                    ).run(into: &report)
                }
            }
            RunOutput.write(
                report, json: options.json.map { Self.sided($0, side) },
                csv: options.csv.map { URL(fileURLWithPath: $0).appendingPathComponent(side).path },
                epilogue: "\(side.uppercased()): \(label(values))")
            reports.append(report)
        }
        // The same phases, whose names may hold the values that differ ("race 100→10", "race 100→20"): paired by
        // their place in the file.
        var (a, b) = (reports[0], reports[1])
        if a.phases.count == b.phases.count {
            for index in a.phases.indices where a.phases[index].name != b.phases[index].name {
                let paired = "\(a.phases[index].name) | \(b.phases[index].name)"
                (a.phases[index].name, b.phases[index].name) = (paired, paired)
            }
        }
        let comparison = RunComparison(a, b, names: (label(sides[0].1), label(sides[1].1)))
        let (header, rows) = comparison.table
        print(
            Format.printable(
                "\nA against B: \(comparison.names.a) against \(comparison.names.b)\n"
                    + ConsoleRenderer.table(header: header, rows: rows)))
        if let html = options.html {
            RunOutput.write([(html, Data(HTMLReport.comparison(comparison).utf8))], what: html)
            print("HTML comparison written to \(html)")
        }
        if let csv = options.csv {
            let file = CSVReport.comparison(comparison)
            let path = URL(fileURLWithPath: csv).appendingPathComponent(file.name).path
            RunOutput.write([(path, Data(file.text.utf8))], what: path)
            print("CSV comparison written to \(path)")
        }
        throw ExitCode(reports.map(\.outcome.rawValue).max() ?? RunExit.couldNotRun)
    }

    /// A file's thresholds and the command line's, with the default `errors<1%` unless one limits failures: a run in
    /// which most requests failed must not pass for want of a limit, as a run of Locust would not.
    static func thresholds(_ file: [String], options: RunOptions) throws -> [Threshold] {
        var thresholds = try file.map { try Threshold(parsing: $0) } + (try options.parsedThresholds)
        if !thresholds.contains(where: { $0.metric == .failurePercent }) { thresholds.append(.failuresDefault) }
        return thresholds
    }

    /// `file` with `.side` before its extension: `cache.json` → `cache.a.json`.
    static func sided(_ file: String, _ side: String) -> String {
        let url = URL(fileURLWithPath: file)
        let stem = url.deletingPathExtension().lastPathComponent
        let ext = url.pathExtension.isEmpty ? "json" : url.pathExtension
        return url.deletingLastPathComponent().appendingPathComponent("\(stem).\(side).\(ext)").path
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
