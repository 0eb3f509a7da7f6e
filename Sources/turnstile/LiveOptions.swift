import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// What a person watches while a run goes: the live dashboard (`--dashboard`, `--dashboard-linger`) and the target's
/// resources beside the load (`--watch-pid`, `--watch-metrics`, `--watch-series`).
struct LiveOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Serve a live dashboard of the run at [HOST:]PORT and print its address: loopback unless a host is "
                + "given, port 0 for any free one.",
            discussion: "The page updates itself every second (Server-Sent Events) and ends with the final report.",
            valueName: "[host:]port"))
    var dashboard: DashboardAddress?

    @Option(help: "How long the dashboard stays up after the run, showing the final report, e.g. 60s or 0.")
    var dashboardLinger = DashboardLinger(seconds: 60)

    @Option(
        help: ArgumentHelp(
            "Sample this process's CPU, resident memory, open files and threads once a second (from /proc) beside "
                + "the load, counted with the processes it started; a PID or a PID file, repeat for several.",
            discussion: """
                Each process is its own series in the charts and resources.csv; the first is the one memory growth \
                is judged for.
                """,
            valueName: "pid or file"))
    var watchPid: [String] = []

    @Option(
        help: ArgumentHelp(
            "Scrape this Prometheus endpoint once a second beside the load, e.g. http://127.0.0.1:8080/metrics; "
                + "name the series to keep with --watch-series.", valueName: "url"))
    var watchMetrics: String?

    @Option(
        help: ArgumentHelp(
            "A series of --watch-metrics to keep: a metric name (all its series) or name{labels}; repeat for several.",
            valueName: "series"))
    var watchSeries: [String] = []

    func validate() throws {
        _ = try watchedProcesses
        try validateMetrics()
    }

    /// The processes `--watch-pid` names, in order: a number is a PID, anything else a file that holds one.
    var watchedProcesses: [Int32] {
        get throws {
            try watchPid.map { text in
                var pid = Int32(text)
                if pid == nil {
                    guard let contents = try? String(contentsOfFile: text, encoding: .utf8) else {
                        throw ValidationError("--watch-pid \(text): not a PID, nor a PID file that can be read")
                    }
                    pid = Int32(contents.split(whereSeparator: \.isNewline).first.map(String.init) ?? "")
                    guard pid != nil else { throw ValidationError("--watch-pid \(text): the file holds no PID") }
                }
                guard let pid, ResourceWatcher.ProcessStats.read(String(pid)) != nil else {
                    throw ValidationError("--watch-pid \(text): no such process to read in /proc")
                }
                return pid
            }
        }
    }

    func validateMetrics() throws {
        if let watchMetrics {
            do { _ = try LoadTarget.splitting(url: watchMetrics) } catch {
                throw ValidationError("--watch-metrics: \(error)")
            }
            guard !watchSeries.isEmpty else {
                throw ValidationError("--watch-metrics needs the series to keep: --watch-series NAME (repeatable)")
            }
        } else if !watchSeries.isEmpty {
            throw ValidationError("--watch-series names series of --watch-metrics: give its URL too")
        }
    }

    /// The watcher the flags ask for: `embedded` watches this process (it runs the service) unless a pid is given;
    /// without either, it waits for a suite to start the target as a child process (``ProgressReporter/targetStarted``).
    private func watcher(embedded: Bool) throws -> ResourceWatcher {
        let metrics = try watchMetrics.map { try ResourceWatcher.Metrics(url: $0, series: watchSeries) }
        let pids = try watchedProcesses
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
        guard let dashboard else {
            let report = try await Self.watched(watcher, ProgressReporter(resources: watcher), run)
            output(report)
            throw ExitCode(report.outcome.rawValue)
        }
        let monitor = RunMonitor(suite: suite, target: target, resources: watcher)
        let progress = ProgressReporter(monitor: monitor, resources: watcher)
        let outcome = try await Dashboard.serve(at: dashboard, monitor: monitor) { url in
            progress.note("Dashboard: \(url) (live while the run goes)")
            let report = try await Self.watched(watcher, progress, run)
            monitor.finish(report)
            output(report)
            let linger = dashboardLinger.duration
            if linger > .zero {
                progress.note(
                    "Dashboard: the final report stays at \(url) for \(DurationArgument.describe(dashboardLinger.time))"
                        + " (--dashboard-linger); Ctrl-C leaves sooner")
                try? await Task.sleep(for: linger)
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
