import Foundation

/// The target's resources beside the load: a process's CPU, memory, open files and threads, and series scraped from
/// a Prometheus endpoint, sampled once a second from the start of the run to its end.
public struct ResourceTimeline: Codable, Sendable, Equatable {
    /// One sample. A value the source could not give (no process watched, a series missing) is absent.
    public struct Sample: Codable, Sendable, Equatable {
        /// When it was taken.
        public var at: Date
        /// CPU time used since the sample before, as a percentage of one core (200 is two cores busy).
        public var cpuPercent: Double?
        /// Resident memory, in bytes.
        public var residentBytes: UInt64?
        public var openFiles: Int?
        public var threads: Int?
        /// Each watched Prometheus series (`name` or `name{labels}`) and its value.
        public var metrics: [String: Double] = [:]
        /// Every watched process but the first (whose usage is the fields above), by its label.
        public var processes: [String: Usage] = [:]

        public init(at: Date) {
            self.at = at
        }

        /// The first watched process's usage, as the fields above hold it.
        public var usage: Usage {
            get { Usage(cpuPercent: cpuPercent, residentBytes: residentBytes, openFiles: openFiles, threads: threads) }
            set {
                (cpuPercent, residentBytes, openFiles, threads) =
                    (newValue.cpuPercent, newValue.residentBytes, newValue.openFiles, newValue.threads)
            }
        }

        private enum CodingKeys: String, CodingKey {
            case at, cpuPercent, residentBytes, openFiles, threads, metrics, processes
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            at = try container.decode(Date.self, forKey: .at)
            cpuPercent = try container.decodeIfPresent(Double.self, forKey: .cpuPercent)
            residentBytes = try container.decodeIfPresent(UInt64.self, forKey: .residentBytes)
            openFiles = try container.decodeIfPresent(Int.self, forKey: .openFiles)
            threads = try container.decodeIfPresent(Int.self, forKey: .threads)
            metrics = try container.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
            processes = try container.decodeIfPresent([String: Usage].self, forKey: .processes) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(at, forKey: .at)
            try container.encodeIfPresent(cpuPercent, forKey: .cpuPercent)
            try container.encodeIfPresent(residentBytes, forKey: .residentBytes)
            try container.encodeIfPresent(openFiles, forKey: .openFiles)
            try container.encodeIfPresent(threads, forKey: .threads)
            try container.encode(metrics, forKey: .metrics)
            if !processes.isEmpty { try container.encode(processes, forKey: .processes) }
        }
    }

    /// One process's use of the machine at a sample, counted with the processes it started.
    public struct Usage: Codable, Sendable, Equatable {
        /// CPU time used since the sample before, as a percentage of one core (200 is two cores busy).
        public var cpuPercent: Double?
        public var residentBytes: UInt64?
        public var openFiles: Int?
        public var threads: Int?

        public init(cpuPercent: Double? = nil, residentBytes: UInt64? = nil, openFiles: Int? = nil, threads: Int? = nil)
        {
            self.cpuPercent = cpuPercent
            self.residentBytes = residentBytes
            self.openFiles = openFiles
            self.threads = threads
        }
    }

    /// Every watched process but the first, by label, in the order they first appear.
    public var otherProcesses: [String] {
        var labels: [String] = []
        for sample in samples {
            for label in sample.processes.keys.sorted() where !labels.contains(label) { labels.append(label) }
        }
        return labels
    }

    /// What was watched, in words: `process 1234 (turnstile)`, `http://127.0.0.1:8080/metrics`.
    public var sources: [String]
    public var samples: [Sample] = []

    public init(sources: [String]) {
        self.sources = sources
    }

    /// Every metric series seen, sorted.
    public var seriesNames: [String] { Set(samples.flatMap { $0.metrics.keys }).sorted() }

    /// Says so when resident memory grew through the run and did not come back down: at the end it is at least
    /// 32 MiB and a fifth above where it started, and within a tenth of its peak. Nil otherwise, or with under five
    /// samples of memory.
    public var memoryGrowth: String? {
        let memory = samples.compactMap(\.residentBytes)
        guard memory.count >= 5, let first = memory.first, let last = memory.last, let peak = memory.max() else {
            return nil
        }
        let grown = last > first && last - first >= max(32 << 20, first / 5)
        guard grown, Double(last) >= 0.9 * Double(peak) else { return nil }
        return "resident memory of \(sources.first ?? "the target") grew from \(Format.bytes(first)) to "
            + "\(Format.bytes(last)) through the run (peak \(Format.bytes(peak))) and did not come back down"
    }
}
