import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnstileReport

/// Samples the target's resources once a second while a run goes: processes' CPU, resident memory, open files and
/// threads from Linux's `/proc`, each counted with the processes it started (PostgreSQL and uvicorn do their work in
/// child processes), and chosen series from a Prometheus endpoint. Its timeline goes into the report beside the
/// load: the first process watched in each sample's own fields, every other one under its name.
public final class ResourceWatcher: Sendable {
    /// A process's counters at one moment, from `/proc/PID`.
    public struct ProcessStats: Sendable, Equatable {
        /// User and system CPU time since the process started, in seconds.
        public var cpuSeconds: Double
        public var residentBytes: UInt64
        public var threads: Int
        public var openFiles: Int

        /// The counters of process `pid` (`self` for this one), or nil if it is gone or `/proc` is not there.
        public static func read(_ pid: String = "self") -> ProcessStats? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            else { return nil }
            // The command name, in parentheses, may hold spaces: the fields are counted from after its end. utime
            // and stime are the 14th and 15th fields, the 2nd and 3rd counted from the state (the 3rd).
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            func field(_ name: String) -> UInt64? {
                status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    .flatMap { UInt64($0.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first ?? "") }
            }
            let openFiles = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
            guard let residentKilobytes = field("VmRSS"), let threads = field("Threads") else { return nil }
            return ProcessStats(
                cpuSeconds: (user + system) / Double(clockTicksPerSecond), residentBytes: residentKilobytes * 1_024,
                threads: Int(threads), openFiles: openFiles)
        }

        /// The counters of process `pid` and every process it started, added up: CPU time includes what the
        /// children it already reaped had used (so a worker that exits takes nothing away), memory and open files are
        /// the live processes'. Nil when `pid` is gone.
        public static func tree(_ pid: Int32) -> ProcessStats? {
            guard var total = read(String(pid), withReapedChildren: true) else { return nil }
            for member in ProcessTree.members(of: pid).dropFirst() {
                guard let stats = read(String(member), withReapedChildren: true) else { continue }
                total.cpuSeconds += stats.cpuSeconds
                total.residentBytes += stats.residentBytes
                total.threads += stats.threads
                total.openFiles += stats.openFiles
            }
            return total
        }

        private static func read(_ pid: String, withReapedChildren: Bool) -> ProcessStats? {
            guard var stats = read(pid) else { return nil }
            if withReapedChildren, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            {
                // cutime and cstime, the 16th and 17th fields: CPU of the children it waited for.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 14, let user = Double(fields[13]), let system = Double(fields[14]) {
                    stats.cpuSeconds += (user + system) / Double(clockTicksPerSecond)
                }
            }
            return stats
        }

        private static let clockTicksPerSecond = max(1, sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A Prometheus endpoint to scrape, and the series to keep from it.
    public struct Metrics: Sendable {
        public let target: LoadTarget
        public let path: String
        /// Metric names (every series of that name) or whole series ids (`name{label="value"}`).
        public let series: [String]

        public init(url: String, series: [String]) throws(LoadTargetError) {
            (target, path) = try LoadTarget.splitting(url: url)
            self.series = series
        }
    }

    private let metrics: Metrics?

    /// A process watched, under a key: `followed` for the target a suite started, or one of its own.
    private struct Watched {
        var key: String
        var label: String
        var pid: Int32
        /// The counters of the sample before, for CPU used since then (by the same process: a restarted one
        /// starts anew).
        var previous: (pid: Int32, stats: ProcessStats, at: Date)?
    }

    private let state: Mutex<(timeline: ResourceTimeline, watched: [Watched])>
    /// The endpoint scraped, as the timeline's sources name it.
    private let metricsSource: [String]

    /// Watches the processes `pids` (the first is the target: its samples fill each sample's own fields; the
    /// others are under their names) and/or `metrics`; `describe` names a process in the report (e.g. "the embedded
    /// service and this load generator"). With no `pids`, the process a suite starts (a child `turnstile serve`, a
    /// scenario's service) is followed when the suite says so.
    public init(pids: [(pid: Int32, describe: String?)], metrics: Metrics?) {
        self.metrics = metrics
        let watched = pids.enumerated().map { index, process in
            Watched(key: "pid \(index)", label: process.describe ?? Self.describe(process.pid), pid: process.pid)
        }
        metricsSource = metrics.map { [$0.target.description + $0.path] } ?? []
        state = Mutex((ResourceTimeline(sources: watched.map(\.label) + metricsSource), watched))
    }

    /// Watches process `pid` (when given) and/or `metrics`.
    public convenience init(pid: Int32?, describe: String? = nil, metrics: Metrics?) {
        self.init(pids: pid.map { [($0, describe)] } ?? [], metrics: metrics)
    }

    /// From now on, samples process `pid`, which a suite started as the target: the first process watched when
    /// none was named (`--watch-pid`), beside them otherwise. A later call (a restarted target) replaces it.
    public func follow(_ pid: Int32, describe: String) {
        watch(pid, key: "followed", describe: describe)
    }

    /// From now on, samples process `pid` under `key` as well (a scenario's process with `watch: true`); a later
    /// call with the same key (a restarted process) replaces it.
    public func watch(_ pid: Int32, key: String, describe: String) {
        state.withLock { state in
            let label = "\(describe), \(Self.describe(pid))"
            if let index = state.watched.firstIndex(where: { $0.key == key }) {
                state.watched[index].pid = pid
                state.watched[index].label = label
            } else {
                state.watched.append(Watched(key: key, label: label, pid: pid))
            }
            state.timeline.sources = state.watched.map(\.label) + metricsSource
        }
    }

    private static func describe(_ pid: Int32) -> String {
        let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return "process \(pid)" + (name.map { " (\($0))" } ?? "")
    }

    /// What was sampled so far.
    public var timeline: ResourceTimeline { state.withLock { $0.timeline } }

    /// Samples once a second until `body` returns, then once more; returns `body`'s result.
    public func watch<Result>(during body: () async throws -> Result) async rethrows -> Result {
        let sampler = Task { await sampleEverySecond() }
        defer { sampler.cancel() }
        let result = try await body()
        sampler.cancel()
        await sampler.value
        return result
    }

    private func sampleEverySecond() async {
        // A scrape that takes longer than the second it samples is skipped, not waited for.
        let scrapeTimeouts = HTTPClientConnection.Timeouts(
            connect: .seconds(1), read: .milliseconds(900), response: .milliseconds(900))
        let session = metrics.map {
            APISession(
                target: $0.target, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), timeouts: scrapeTimeouts)
        }
        while true {
            let cancelled = (try? await Task.sleep(for: .seconds(1))) == nil
            var sample = ResourceTimeline.Sample(at: Date())
            for (index, usage) in sampleProcesses(at: sample.at).enumerated() {
                guard let usage else { continue }
                if index == 0 {
                    sample.usage = usage.usage
                } else {
                    sample.processes[usage.label] = usage.usage
                }
            }
            if let metrics, let session {
                let request = LoadRequest(endpoint: "metrics", method: .GET, path: metrics.path, isSentOnce: true)
                if let response = try? await session.call(request), response.status == 200 {
                    sample.metrics = Self.series(metrics.series, in: String(buffer: response.body))
                }
            }
            // Nothing to watch yet (a child not started): no sample.
            if sample.residentBytes != nil || !sample.processes.isEmpty || !sample.metrics.isEmpty {
                state.withLock { $0.timeline.samples.append(sample) }
            }
            if cancelled { return }
        }
    }

    /// Each watched process's usage now, in order; nil for one that is gone.
    private func sampleProcesses(at now: Date) -> [(label: String, usage: ResourceTimeline.Usage)?] {
        let watched = state.withLock { $0.watched }
        var sampled: [(label: String, usage: ResourceTimeline.Usage)?] = []
        var updated = watched
        for (index, process) in watched.enumerated() {
            guard let stats = ProcessStats.tree(process.pid) else {
                sampled.append(nil)
                continue
            }
            var usage = ResourceTimeline.Usage(
                residentBytes: stats.residentBytes, openFiles: stats.openFiles, threads: stats.threads)
            if let previous = process.previous, previous.pid == process.pid {
                let elapsed = max(now.timeIntervalSince(previous.at), 1e-3)
                usage.cpuPercent = max(0, stats.cpuSeconds - previous.stats.cpuSeconds) / elapsed * 100
            }
            updated[index].previous = (process.pid, stats, now)
            sampled.append((process.label, usage))
        }
        state.withLock { state in
            // Keep what was read, unless the list changed meanwhile (a process followed anew).
            for process in updated {
                if let index = state.watched.firstIndex(where: { $0.key == process.key && $0.pid == process.pid }) {
                    state.watched[index].previous = process.previous
                }
            }
        }
        return sampled
    }

    /// The values of `wanted` in a Prometheus text exposition: a bare name matches every series of that name, a
    /// whole id (`name{labels}`, written as the endpoint writes it) matches that series.
    public static func series(_ wanted: [String], in text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            // `id value [timestamp]`; the id may hold spaces inside its labels' quotes.
            let idEnd = line.lastIndex(of: "}").map { line.index(after: $0) } ?? line.firstIndex(of: " ")
            guard let idEnd, idEnd < line.endIndex else { continue }
            let id = String(line[..<idEnd])
            let name = String(id.prefix { $0 != "{" })
            guard wanted.contains(id) || wanted.contains(name),
                let value = line[idEnd...].split(separator: " ").first.flatMap({ Double($0) })
            else { continue }
            values[id] = value
        }
        return values
    }
}
