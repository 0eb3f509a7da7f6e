import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// How a stress command carries out the run its options describe: the run (watched, and on the dashboard, when
/// asked for), the report's tables and files, and the command's exit code. The option groups hold and check values;
/// the commands' `run()` hand them here.
struct CommandRun {
    let options: RunOptions

    init(_ options: RunOptions) {
        self.options = options
    }

    /// Runs `run` as suite `suite` against `target`, prints the report's tables, writes the files asked for, and ends
    /// the command with its outcome's exit code.
    func perform(
        _ suite: String, target: String, embedded: Bool = false, _ run: (ProgressReporter) async throws -> RunReport
    ) async throws -> Never {
        let (insecure, json, csv, html) = (options.insecure, options.json, options.csv, options.html)
        try await LiveRun(options.live).perform(suite: suite, target: target, embedded: embedded) { progress in
            var report = try await run(progress)
            if insecure, target.hasPrefix("https://") {
                report.notes.insert(
                    "TLS certificate verification was off (--insecure): the target was not authenticated", at: 0)
            }
            return report
        } output: { report in
            RunOutput.write(report, json: json, csv: csv, html: html)
        }
    }

    /// Runs `body` as the suite `name` against `target` and judges the thresholds (see ``perform(_:target:embedded:_:)``).
    /// A threshold naming none of `endpoints` is refused before the run.
    func suite(
        _ name: String, target: LoadTarget, endpoints: [String]? = nil,
        _ body: (SuiteContext, inout RunReport) async throws -> Void
    ) async throws -> Never {
        let (thresholds, runID) = (try options.parsedThresholds, options.newRunID)
        let (timeouts, setupTimeouts) = (options.timeouts, options.setupTimeouts)
        try await perform(name, target: target.description) { progress in
            let context = SuiteContext(
                target: target, timeouts: timeouts, progress: progress, setupTimeouts: setupTimeouts)
            return await StressRun.execute(
                suite: name, target: target, thresholds: thresholds, endpoints: endpoints, runID: runID
            ) {
                try await body(context, &$0)
            }
        }
    }

    /// Runs scenarios one after another as one run of suite `name`, sharing their users where their provisioning
    /// is the same (see ``perform(_:target:embedded:_:)``). `thresholds` (the files') are judged with the command
    /// line's. `embedded`: the target runs in this process, whose resources are then watched.
    func scenarios(
        _ name: String, _ scenarios: [(ScenarioFile, [String: ScenarioValue])], target: LoadTarget,
        thresholds: [String] = [], endpoints: [String]?, embedded: Bool = false, shard: ShardPlan? = nil
    ) async throws -> Never {
        let options = options
        let allThresholds = try self.thresholds(thresholds)
        let runID = shard?.runID ?? options.newRunID
        try await perform(name, target: target.description, embedded: embedded) { progress in
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

    /// Runs the bundled `file` as suite `name`, shaped as `shape` says.
    func shaped(
        _ file: BundledScenario, _ shape: LoadShapeOptions, suite name: String, target: LoadTarget
    ) async throws -> Never {
        let scenario = try shape.scenario(file)
        try await scenarios(name, [scenario], target: target, endpoints: scenario.0.endpoints)
    }

    /// Runs `scenario` twice, as `overrides` say (A) and with `versus` over them (B), prints both reports and the
    /// two side by side, writes the files asked for (see `stress run --help`), and ends the command with the worse
    /// exit code of the two.
    func versus(
        _ scenario: ScenarioFile, overrides: [String: ScenarioValue], versus: [String: ScenarioValue],
        target: LoadTarget
    ) async throws -> Never {
        let options = options
        let thresholds = try self.thresholds(scenario.thresholds)
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
            let report = try await LiveRun(options.live).report { progress in
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
    func thresholds(_ file: [String]) throws -> [Threshold] {
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
}

/// What a person watches while a run goes, as ``LiveOptions`` ask: the target's resources beside the load and the
/// live dashboard.
struct LiveRun {
    let options: LiveOptions

    init(_ options: LiveOptions) {
        self.options = options
    }

    /// The watcher the flags ask for: `embedded` watches this process (it runs the service) unless a pid is given;
    /// without either, it waits for a suite to start the target as a child process (``ProgressReporter/targetStarted``).
    private func watcher(embedded: Bool) throws -> ResourceWatcher {
        let metrics = try options.watchMetrics.map {
            try ResourceWatcher.Metrics(url: $0, series: options.watchSeries)
        }
        let pids = try options.watchedProcesses
        if pids.isEmpty, embedded {
            return ResourceWatcher(
                pid: getpid(), describe: "this process (the embedded service and the load generator together)",
                metrics: metrics)
        }
        return ResourceWatcher(pids: pids.map { ($0, nil) }, metrics: metrics)
    }

    /// Runs `run` (watched, and on the dashboard, when asked for), has `output` write the result, keeps the
    /// dashboard up for the linger, and ends the command with the report's exit code. `embedded`: the target runs
    /// in this process, whose resources are then watched without asking.
    func perform(
        suite: String, target: String, embedded: Bool = false, _ run: (ProgressReporter) async throws -> RunReport,
        output: (RunReport) -> Void
    ) async throws -> Never {
        let watcher = try watcher(embedded: embedded)
        guard let dashboard = options.dashboard else {
            let report = try await Self.watched(watcher, ProgressReporter(resources: watcher), run)
            output(report)
            throw ExitCode(report.outcome.rawValue)
        }
        let monitor = RunMonitor(suite: suite, target: target, resources: watcher)
        let progress = ProgressReporter(monitor: monitor, resources: watcher)
        let linger = options.dashboardLinger
        let outcome = try await Dashboard.serve(at: dashboard, monitor: monitor) { url in
            progress.note("Dashboard: \(url) (live while the run goes)")
            let report = try await Self.watched(watcher, progress, run)
            monitor.finish(report)
            output(report)
            if linger.duration > .zero {
                progress.note(
                    "Dashboard: the final report stays at \(url) for \(DurationArgument.describe(linger.time))"
                        + " (--dashboard-linger); Ctrl-C leaves sooner")
                try? await Task.sleep(for: linger.duration)
            }
            return report.outcome
        }
        throw ExitCode(outcome.rawValue)
    }

    /// Runs `run` without a dashboard, watched as the flags ask, and returns its report: one of several runs of one
    /// command (see `stress run --versus`).
    func report(_ run: (ProgressReporter) async throws -> RunReport) async throws -> RunReport {
        let watcher = try watcher(embedded: false)
        return try await Self.watched(watcher, ProgressReporter(resources: watcher), run)
    }

    /// The run, with the resources watched beside it (if anything was) attached to its report.
    private static func watched(
        _ watcher: ResourceWatcher, _ progress: ProgressReporter, _ run: (ProgressReporter) async throws -> RunReport
    ) async throws -> RunReport {
        var report = try await watcher.watch { try await run(progress) }
        guard !watcher.timeline.samples.isEmpty else { return report }
        report.resources = watcher.timeline
        if let growth = watcher.timeline.memoryGrowth { report.notes.append(growth) }
        return report
    }
}
