/// What happened to the requests of one endpoint (or of all, for the overall line) in one phase.
public struct EndpointStats: Codable, Sendable, Equatable {
    /// How a request ended without a response.
    public enum ErrorKind: String, Codable, Sendable, CaseIterable, Comparable {
        /// The connection could not be opened.
        case connect
        /// No complete response within the read or total timeout.
        case timeout
        /// The connection was reset or closed before the response was complete.
        case reset
        /// The response was not valid HTTP/1.1.
        case `protocol`

        public static func < (lhs: ErrorKind, rhs: ErrorKind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The endpoint's name, e.g. `book`, or `overall`.
    public var name: String
    /// Responses by status code (as text, so the JSON object keys read naturally).
    public var statusCounts: [String: UInt64] = [:]
    /// Requests that ended without a response, by kind.
    public var errorCounts: [String: UInt64] = [:]
    /// Latency of every request that got a response, from its (intended) start to its last byte.
    public var latency = LatencyHistogram()

    public init(name: String) {
        self.name = name
    }

    public mutating func record(status: Int, microseconds: UInt64) {
        statusCounts[String(status), default: 0] += 1
        latency.record(microseconds: microseconds)
    }

    public mutating func record(error: ErrorKind) {
        errorCounts[error.rawValue, default: 0] += 1
    }

    /// Adds another shard's results for the same endpoint: counts add, histograms add.
    public mutating func add(_ other: EndpointStats) {
        statusCounts.merge(other.statusCounts, uniquingKeysWith: +)
        errorCounts.merge(other.errorCounts, uniquingKeysWith: +)
        latency.add(other.latency)
    }

    public var responses: UInt64 { statusCounts.values.reduce(0, +) }
    public var errors: UInt64 { errorCounts.values.reduce(0, +) }
    public var requests: UInt64 { responses + errors }

    /// Failed requests: errors and 5xx responses. A 4xx is an answer the client asked for (a 409 sold out is a
    /// correct refusal), so it does not count as a failure.
    public var failures: UInt64 {
        errors + statusCounts.filter { ($0.key.first ?? "0") == "5" }.values.reduce(0, +)
    }

    /// Failures as a fraction of requests, 0...1.
    public var failureRatio: Double { requests == 0 ? 0 : Double(failures) / Double(requests) }

    /// How many responses had `status`.
    public func count(status: Int) -> UInt64 { statusCounts[String(status)] ?? 0 }
}

extension EndpointStats {
    /// Two sets of per-endpoint results added endpoint by endpoint (matched by name), sorted by name.
    public static func merged(_ stats: [EndpointStats], _ other: [EndpointStats]) -> [EndpointStats] {
        var byName = Dictionary(uniqueKeysWithValues: stats.map { ($0.name, $0) })
        for stats in other { byName[stats.name, default: EndpointStats(name: stats.name)].add(stats) }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// Every endpoint together, as the `overall` line.
    public static func overall(_ stats: [EndpointStats]) -> EndpointStats {
        stats.reduce(into: EndpointStats(name: "overall")) { $0.add($1) }
    }
}

extension EndpointStats {
    /// The usual figures, derived from the counts and the histogram, written beside them in the JSON for readers
    /// that do not want to walk histogram buckets. Never read back: the histogram is the source of truth.
    public struct Summary: Codable, Sendable, Equatable {
        public let requests: UInt64
        public let failures: UInt64
        public let latencyMicroseconds: [String: Double]
    }

    public var summary: Summary {
        var latency: [String: Double] = [
            "min": Double(self.latency.minimum), "avg": self.latency.mean, "max": Double(self.latency.maximum),
        ]
        for (name, percentile) in [("p50", 50.0), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9)] {
            latency[name] = Double(self.latency.percentile(percentile))
        }
        return Summary(requests: requests, failures: failures, latencyMicroseconds: latency)
    }

    private enum CodingKeys: String, CodingKey {
        case name, statusCounts, errorCounts, latency, summary
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        statusCounts = try container.decode([String: UInt64].self, forKey: .statusCounts)
        errorCounts = try container.decode([String: UInt64].self, forKey: .errorCounts)
        latency = try container.decode(LatencyHistogram.self, forKey: .latency)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(statusCounts, forKey: .statusCounts)
        try container.encode(errorCounts, forKey: .errorCounts)
        try container.encode(latency, forKey: .latency)
        try container.encode(summary, forKey: .summary)
    }
}
