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

    private let pid: Int32?
    private let processName: String
    private let metrics: Metrics?
    private let state: Mutex<ResourceTimeline>

    /// Watches process `pid` and/or `metrics`; `describe` names the process in the report (e.g. "the embedded
    /// service and this load generator").
    public init(pid: Int32?, describe: String? = nil, metrics: Metrics?) {
        self.pid = pid
        self.metrics = metrics
        let name = pid.flatMap { try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8) }?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        processName = describe ?? pid.map { "process \($0)" + (name.map { " (\($0))" } ?? "") } ?? ""
        var sources = pid == nil ? [] : [processName]
        if let metrics { sources.append(metrics.target.description + metrics.path) }
        state = Mutex(ResourceTimeline(sources: sources))
    }

    /// What was sampled so far.
    public var timeline: ResourceTimeline { state.withLock { $0 } }

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
        var previous = pid.flatMap { ProcessStats.read(String($0)) }
        var previousAt = Date()
        let session = metrics.map {
            APISession(target: $0.target, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), timeouts: .init())
        }
        while true {
            let cancelled = (try? await Task.sleep(for: .seconds(1))) == nil
            let now = Date()
            var sample = ResourceTimeline.Sample(at: now)
            if let pid, let stats = ProcessStats.read(String(pid)) {
                if let previous {
                    let elapsed = max(now.timeIntervalSince(previousAt), 1e-3)
                    sample.cpuPercent = max(0, stats.cpuSeconds - previous.cpuSeconds) / elapsed * 100
                }
                sample.residentBytes = stats.residentBytes
                sample.openFiles = stats.openFiles
                sample.threads = stats.threads
                previous = stats
            }
            previousAt = now
            if let metrics, let session {
                let request = LoadRequest(endpoint: "metrics", method: .GET, path: metrics.path, isSentOnce: true)
                if let response = try? await session.call(request), response.status == 200 {
                    sample.metrics = Self.series(metrics.series, in: String(buffer: response.body))
                }
            }
            state.withLock { $0.samples.append(sample) }
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
