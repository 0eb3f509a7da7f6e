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
}
