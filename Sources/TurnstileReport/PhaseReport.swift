import Foundation

/// The results of one phase of a run: one executor driving one kind of traffic.
public struct PhaseReport: Codable, Sendable {
    /// One second of the phase, for charts: every endpoint together, and each on its own.
    public struct Second: Codable, Sendable, Equatable {
        /// What one second counted, for every endpoint together or for one.
        public struct Counts: Codable, Sendable, Equatable {
            public var requests: UInt64 = 0
            public var failures: UInt64 = 0
            public var latency = LatencyHistogram(precision: .coarse)
            /// Responses by status code.
            public var statuses: [String: UInt64] = [:]
            /// Requests that ended without a response, by kind (see ``EndpointStats/ErrorKind``).
            public var errors: [String: UInt64] = [:]

            public init() {}

            private enum CodingKeys: String, CodingKey { case requests, failures, latency, statuses, errors }

            /// Decodes counts; `statuses` and `errors` may be absent (results written before they were kept).
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                requests = try container.decode(UInt64.self, forKey: .requests)
                failures = try container.decode(UInt64.self, forKey: .failures)
                latency = try container.decode(LatencyHistogram.self, forKey: .latency)
                statuses = try container.decodeIfPresent([String: UInt64].self, forKey: .statuses) ?? [:]
                errors = try container.decodeIfPresent([String: UInt64].self, forKey: .errors) ?? [:]
            }

            /// Counts a response with `status`, a failure unless `expected`.
            public mutating func record(status: String, microseconds: UInt64, expected: Bool) {
                requests += 1
                latency.record(microseconds: microseconds)
                statuses[status, default: 0] += 1
                if !expected { failures += 1 }
            }

            /// Counts a request that ended without a response (a failure).
            public mutating func record(error: EndpointStats.ErrorKind) {
                requests += 1
                failures += 1
                errors[error.rawValue, default: 0] += 1
            }

            public mutating func add(_ other: Counts) {
                requests += other.requests
                failures += other.failures
                latency.add(other.latency)
                statuses.merge(other.statuses, uniquingKeysWith: +)
                errors.merge(other.errors, uniquingKeysWith: +)
            }
        }

        /// Seconds since the phase started (0 is the first).
        public var second: Int
        /// Every endpoint together; written beside `second` in the JSON.
        public var total = Counts()
        /// Each endpoint that had a request end in this second, by name.
        public var endpoints: [String: Counts] = [:]

        public var requests: UInt64 {
            get { total.requests }
            set { total.requests = newValue }
        }
        public var failures: UInt64 {
            get { total.failures }
            set { total.failures = newValue }
        }
        public var latency: LatencyHistogram {
            get { total.latency }
            set { total.latency = newValue }
        }

        public init(second: Int) {
            self.second = second
        }

        private enum CodingKeys: String, CodingKey { case second, endpoints }

        /// Decodes a second; `endpoints` may be absent (results written before it was kept).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            second = try container.decode(Int.self, forKey: .second)
            total = try Counts(from: decoder)
            endpoints = try container.decodeIfPresent([String: Counts].self, forKey: .endpoints) ?? [:]
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(second, forKey: .second)
            try total.encode(to: encoder)
            try container.encode(endpoints, forKey: .endpoints)
        }

        public mutating func add(_ other: Second) {
            total.add(other.total)
            endpoints.merge(other.endpoints) { mine, theirs in
                var sum = mine
                sum.add(theirs)
                return sum
            }
        }

        /// Makes the totals the sum of the endpoints', for a second counted endpoint by endpoint.
        public mutating func addUpEndpoints() {
            total = endpoints.values.reduce(into: Counts()) { $0.add($1) }
        }

        /// Keeps only the histograms' non-empty buckets: for a second that is over.
        public mutating func pack() {
            total.latency.pack()
            for name in endpoints.keys { endpoints[name]!.latency.pack() }
        }

        /// Two timelines added second by second, in order.
        public static func merged(_ timeline: [Second], _ other: [Second]) -> [Second] {
            var bySecond = Dictionary(uniqueKeysWithValues: timeline.map { ($0.second, $0) })
            for second in other { bySecond[second.second, default: Second(second: second.second)].add(second) }
            return bySecond.values.sorted { $0.second < $1.second }
        }
    }

    /// The phase's name, e.g. `race 100→10`.
    public var name: String
    /// The executor that drove it: `barrier`, `closed`, `open`.
    public var executor: String
    public var startedAt: Date
    /// Wall-clock length of the measured part (provisioning excluded).
    public var durationSeconds: Double
    /// Virtual users (or connections) that took part.
    public var users: Int
    public var endpoints: [EndpointStats]
    public var timeline: [Second]
    /// For a barrier: microseconds between the first and the last release of a held-back byte.
    public var releaseSpreadMicroseconds: UInt64?
    /// For a barrier: when its first byte was released, by this machine's wall clock, in Unix seconds (to the
    /// microsecond: the shards of one run are compared by it).
    public var releasedAtUnixSeconds: Double?
    /// For a barrier released at an instant (`--start-at`): how long after it every request was ready; 0 on time.
    public var releaseLateSeconds: Double?
    /// For a barrier: how many TCP packets (of 1,448 bytes, a 1,500-byte MTU's segment with timestamps) the released
    /// bytes needed at least; one per connection on HTTP/1.1, as few as one for a whole race on HTTP/2.
    public var releasePackets: UInt64?
    /// For an open executor: starts that could not begin on time (no free connection at their intended time).
    public var lateStarts: UInt64?
    /// For an open executor: arrivals never sent (no connection was free before the phase ended, or the backlog
    /// was full).
    public var droppedStarts: UInt64?
    /// What the reader should know about how the phase ran, e.g. that its connections could not carry the rate.
    public var warnings: [String] = []
    /// What the phase found beyond its table, one line each, e.g. a fan-out's delivery ratio.
    public var facts: [String] = []
    /// Stretches of the phase its charts mark, e.g. when a fault was on.
    public var windows: [Window] = []
    /// How long opening each connection took (TCP), and its TLS handshake on https: set-up, kept out of the requests'
    /// latency. Nil when the phase opened none.
    public var connectLatency: LatencyHistogram?
    public var tlsLatency: LatencyHistogram?
    /// The connections opened, by the HTTP version they spoke ("1.1", "2").
    public var httpVersions: [String: UInt64] = [:]

    /// "release spread 12µs in 1 packet" for a barrier, or nil.
    public var releaseSummary: String? {
        guard let spread = releaseSpreadMicroseconds else { return nil }
        let packets = releasePackets.map { " in \($0) packet\($0 == 1 ? "" : "s")" } ?? ""
        return "release spread \(Format.microseconds(spread))\(packets)"
    }

    /// "connect p50 80µs, p99 1.2ms; TLS p50 2.1ms, p99 4.0ms (64 connections)", or nil if none was opened.
    public var connectionSetup: String? {
        guard let connect = connectLatency, !connect.isEmpty else { return nil }
        func percentiles(_ histogram: LatencyHistogram) -> String {
            "p50 \(Format.microseconds(histogram.percentile(50))), p99 \(Format.microseconds(histogram.percentile(99)))"
        }
        let versions = httpVersions.sorted { $0.key < $1.key }.map { "HTTP/\($0.key)" }.joined(separator: " and ")
        return "connect " + percentiles(connect) + (tlsLatency.map { "; TLS " + percentiles($0) } ?? "")
            + " (\(connect.count) connection\(connect.count == 1 ? "" : "s")\(versions.isEmpty ? "" : ", " + versions))"
    }

    /// A named stretch of a phase, in seconds from its start.
    public struct Window: Codable, Sendable, Equatable {
        public var name: String
        public var from: Double
        public var to: Double

        public init(name: String, from: Double, to: Double) {
            self.name = name
            self.from = from
            self.to = to
        }
    }

    public init(
        name: String, executor: String, startedAt: Date, durationSeconds: Double, users: Int,
        endpoints: [EndpointStats], timeline: [Second], releaseSpreadMicroseconds: UInt64? = nil,
        lateStarts: UInt64? = nil, droppedStarts: UInt64? = nil
    ) {
        self.name = name
        self.executor = executor
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.users = users
        self.endpoints = endpoints.sorted { $0.name < $1.name }
        self.timeline = timeline.sorted { $0.second < $1.second }
        self.releaseSpreadMicroseconds = releaseSpreadMicroseconds
        self.lateStarts = lateStarts
        self.droppedStarts = droppedStarts
    }

    private enum CodingKeys: String, CodingKey {
        case name, executor, startedAt, durationSeconds, users, endpoints, timeline, releaseSpreadMicroseconds
        case lateStarts, droppedStarts, warnings, facts, windows, connectLatency, tlsLatency, httpVersions
        case releasePackets, releasedAtUnixSeconds, releaseLateSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        executor = try container.decode(String.self, forKey: .executor)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        durationSeconds = try container.decode(Double.self, forKey: .durationSeconds)
        users = try container.decode(Int.self, forKey: .users)
        endpoints = try container.decode([EndpointStats].self, forKey: .endpoints)
        timeline = try container.decode([Second].self, forKey: .timeline)
        // A phase of one endpoint writes each second once: that endpoint's second is the total.
        if endpoints.count == 1 {
            for index in timeline.indices where timeline[index].endpoints.isEmpty && timeline[index].requests > 0 {
                timeline[index].endpoints[endpoints[0].name] = timeline[index].total
            }
        }
        releaseSpreadMicroseconds = try container.decodeIfPresent(UInt64.self, forKey: .releaseSpreadMicroseconds)
        lateStarts = try container.decodeIfPresent(UInt64.self, forKey: .lateStarts)
        droppedStarts = try container.decodeIfPresent(UInt64.self, forKey: .droppedStarts)
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
        facts = try container.decodeIfPresent([String].self, forKey: .facts) ?? []
        windows = try container.decodeIfPresent([Window].self, forKey: .windows) ?? []
        connectLatency = try container.decodeIfPresent(LatencyHistogram.self, forKey: .connectLatency)
        tlsLatency = try container.decodeIfPresent(LatencyHistogram.self, forKey: .tlsLatency)
        httpVersions = try container.decodeIfPresent([String: UInt64].self, forKey: .httpVersions) ?? [:]
        releasePackets = try container.decodeIfPresent(UInt64.self, forKey: .releasePackets)
        releasedAtUnixSeconds = try container.decodeIfPresent(Double.self, forKey: .releasedAtUnixSeconds)
        releaseLateSeconds = try container.decodeIfPresent(Double.self, forKey: .releaseLateSeconds)
    }

    /// Writes each endpoint with a `summary` beside its counts and histogram (rps over this phase included), for
    /// readers that do not want to walk histogram buckets; the summary is never read back.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(executor, forKey: .executor)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(users, forKey: .users)
        try container.encode(
            endpoints.map { SummarizedEndpoint(stats: $0, durationSeconds: durationSeconds) }, forKey: .endpoints)
        // A phase of one endpoint writes each second once (its total); decoding gives the endpoint its second back.
        try container.encode(
            endpoints.count == 1
                ? timeline.map { second in
                    var second = second
                    second.endpoints = [:]
                    return second
                } : timeline, forKey: .timeline)
        try container.encodeIfPresent(releaseSpreadMicroseconds, forKey: .releaseSpreadMicroseconds)
        try container.encodeIfPresent(releasePackets, forKey: .releasePackets)
        try container.encodeIfPresent(releasedAtUnixSeconds, forKey: .releasedAtUnixSeconds)
        try container.encodeIfPresent(releaseLateSeconds, forKey: .releaseLateSeconds)
        try container.encodeIfPresent(lateStarts, forKey: .lateStarts)
        try container.encodeIfPresent(droppedStarts, forKey: .droppedStarts)
        if !warnings.isEmpty { try container.encode(warnings, forKey: .warnings) }
        if !facts.isEmpty { try container.encode(facts, forKey: .facts) }
        if !windows.isEmpty { try container.encode(windows, forKey: .windows) }
        try container.encodeIfPresent(connectLatency, forKey: .connectLatency)
        try container.encodeIfPresent(tlsLatency, forKey: .tlsLatency)
        if !httpVersions.isEmpty { try container.encode(httpVersions, forKey: .httpVersions) }
    }

    /// An endpoint's stats and, beside them, its summary over the phase.
    private struct SummarizedEndpoint: Encodable {
        let stats: EndpointStats
        let durationSeconds: Double

        private enum CodingKeys: String, CodingKey { case summary }

        func encode(to encoder: any Encoder) throws {
            try stats.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(stats.summary(durationSeconds: durationSeconds), forKey: .summary)
        }
    }

    /// Every endpoint together.
    public var overall: EndpointStats {
        EndpointStats.overall(endpoints)
    }

    /// The rows of the phase's table: each endpoint, then every endpoint together when there are several.
    public var endpointsWithOverall: [EndpointStats] {
        endpoints.count > 1 ? endpoints + [overall] : endpoints
    }

    /// For an open executor: the share of its arrivals that were never sent, in percent.
    public var droppedPercent: Double? {
        guard let dropped = droppedStarts else { return nil }
        let arrivals = overall.requests + dropped
        return arrivals > 0 ? Double(dropped) / Double(arrivals) * 100 : 0
    }

    /// Requests per second over the phase.
    public func rate(_ stats: EndpointStats) -> Double {
        durationSeconds > 0 ? Double(stats.requests) / durationSeconds : 0
    }

    /// Adds another shard's results for the same phase (run at the same time on another machine): endpoint by
    /// endpoint and second by second. The phase lasts as long as its longest shard.
    public mutating func add(_ other: PhaseReport) {
        endpoints = EndpointStats.merged(endpoints, other.endpoints)
        timeline = Second.merged(timeline, other.timeline)
        durationSeconds = max(durationSeconds, other.durationSeconds)
        users += other.users
        startedAt = min(startedAt, other.startedAt)
        if let spread = other.releaseSpreadMicroseconds {
            releaseSpreadMicroseconds = max(releaseSpreadMicroseconds ?? 0, spread)
        }
        if let packets = other.releasePackets { releasePackets = (releasePackets ?? 0) + packets }
        httpVersions.merge(other.httpVersions, uniquingKeysWith: +)
        if let late = other.lateStarts { lateStarts = (lateStarts ?? 0) + late }
        if let dropped = other.droppedStarts { droppedStarts = (droppedStarts ?? 0) + dropped }
        warnings += other.warnings.filter { !warnings.contains($0) }
        facts += other.facts.filter { !facts.contains($0) }
        windows += other.windows.filter { !windows.contains($0) }
        connectLatency = Self.sum(connectLatency, other.connectLatency)
        tlsLatency = Self.sum(tlsLatency, other.tlsLatency)
    }

    /// Adds a later part of the same phase, run after this one by the same users (a barrier's next round or step):
    /// its requests add as a shard's do, but its time follows this part's, and its users are the same people. So
    /// the phase's rate is its requests over the time its parts took, not over the longest part alone.
    public mutating func append(_ later: PhaseReport) {
        let (duration, users) = (durationSeconds + later.durationSeconds, max(self.users, later.users))
        add(later)
        durationSeconds = duration
        self.users = users
    }

    /// Two optional histograms added; nil only if both are.
    public static func sum(_ lhs: LatencyHistogram?, _ rhs: LatencyHistogram?) -> LatencyHistogram? {
        guard var sum = lhs else { return rhs }
        if let rhs { sum.add(rhs) }
        return sum
    }
}
