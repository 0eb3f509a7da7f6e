import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnstileReport

/// Samples the target's resources once a second while a run goes: a process's CPU, resident memory, open files and
/// threads from Linux's `/proc`, and chosen series from a Prometheus endpoint. Its timeline goes into the report
/// beside the load.
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
    /// Whether the process was chosen by the user (`--watch-pid`): then ``follow(_:describe:)`` leaves it.
    private let pidIsFixed: Bool
    private let state: Mutex<(timeline: ResourceTimeline, pid: Int32?)>

    /// Watches process `pid` and/or `metrics`; `describe` names the process in the report (e.g. "the embedded
    /// service and this load generator"). With no `pid`, the process a suite starts (a child `turnstile serve`) is
    /// followed when the suite says so.
    public init(pid: Int32?, describe: String? = nil, metrics: Metrics?) {
        self.metrics = metrics
        pidIsFixed = pid != nil
        var timeline = ResourceTimeline(sources: metrics.map { [$0.target.description + $0.path] } ?? [])
        if let pid { timeline.sources.insert(describe ?? Self.describe(pid), at: 0) }
        state = Mutex((timeline, pid))
    }

    /// From now on, samples process `pid`, which a suite started as the target (unless `--watch-pid` chose one).
    public func follow(_ pid: Int32, describe: String) {
        guard !pidIsFixed else { return }
        state.withLock { state in
            state.pid = pid
            let source = "\(describe), \(Self.describe(pid))"
            if !state.timeline.sources.contains(source) { state.timeline.sources.insert(source, at: 0) }
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
        var previous: (pid: Int32, stats: ProcessStats)?
        var previousAt = Date()
        // A scrape that takes longer than the second it samples is skipped, not waited for.
        let scrapeTimeouts = HTTPClientConnection.Timeouts(
            connect: .seconds(1), read: .milliseconds(900), response: .milliseconds(900))
        let session = metrics.map {
            APISession(
                target: $0.target, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), timeouts: scrapeTimeouts)
        }
        while true {
            let cancelled = (try? await Task.sleep(for: .seconds(1))) == nil
            let now = Date()
            var sample = ResourceTimeline.Sample(at: now)
            if let pid = state.withLock({ $0.pid }), let stats = ProcessStats.read(String(pid)) {
                // CPU is time used since the sample before, by the same process (a restarted one starts anew).
                if let previous, previous.pid == pid {
                    let elapsed = max(now.timeIntervalSince(previousAt), 1e-3)
                    sample.cpuPercent = max(0, stats.cpuSeconds - previous.stats.cpuSeconds) / elapsed * 100
                }
                sample.residentBytes = stats.residentBytes
                sample.openFiles = stats.openFiles
                sample.threads = stats.threads
                previous = (pid, stats)
            }
            previousAt = now
            if let metrics, let session {
                let request = LoadRequest(endpoint: "metrics", method: .GET, path: metrics.path, isSentOnce: true)
                if let response = try? await session.call(request), response.status == 200 {
                    sample.metrics = Self.series(metrics.series, in: String(buffer: response.body))
                }
            }
            // Nothing to watch yet (a child not started): no sample.
            if sample.residentBytes != nil || !sample.metrics.isEmpty {
                state.withLock { $0.timeline.samples.append(sample) }
            }
            if cancelled { return }
        }
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
