/// What happened to the requests of one endpoint (or of all, for the overall line) in one phase.
public struct EndpointStats: Codable, Sendable, Equatable {
    /// How a request ended without a response.
    public enum ErrorKind: String, Codable, Sendable, CaseIterable, Comparable {
        /// The connection could not be opened.
        case connect
        /// The TLS handshake failed: the certificate was not trusted, or the target does not speak TLS.
        case tls
        /// No complete response within the read or total timeout.
        case timeout
        /// The connection was reset or closed before the response was complete.
        case reset
        /// The response was not valid HTTP/1.1.
        case `protocol`
        /// A barrier's request was answered before its held-back bytes were released: the target answered a request
        /// it had not fully received, so the answer says nothing about the race and no latency was measured.
        case answeredBeforeRelease = "before-release"

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
    /// The statuses this endpoint's requests count as expected.
    public var expected: StatusSet
    /// Responses with a status their request did not expect: failures, like errors.
    public var unexpectedResponses: UInt64 = 0
    /// Responses by the named outcome they were classified in as they came, for requests whose outcomes read the
    /// answer's body (a scenario's "409, not enough seats" apart from "409, try again"); empty for the others, whose
    /// outcomes are counted from ``statusCounts``.
    public var outcomeCounts: [String: UInt64] = [:]

    public init(name: String, expected: StatusSet = .success) {
        self.name = name
        self.expected = expected
    }

    public mutating func record(status: Int, microseconds: UInt64) {
        statusCounts[String(status), default: 0] += 1
        if !expected.contains(status) { unexpectedResponses += 1 }
        latency.record(microseconds: microseconds)
    }

    public mutating func record(error: ErrorKind) {
        errorCounts[error.rawValue, default: 0] += 1
    }

    /// Adds another shard's results for the same endpoint: counts add, histograms add. An endpoint with nothing
    /// recorded yet takes the other's expected statuses.
    public mutating func add(_ other: EndpointStats) {
        if requests == 0 { expected = other.expected }
        unexpectedResponses += other.unexpectedResponses
        statusCounts.merge(other.statusCounts, uniquingKeysWith: +)
        errorCounts.merge(other.errorCounts, uniquingKeysWith: +)
        outcomeCounts.merge(other.outcomeCounts, uniquingKeysWith: +)
        latency.add(other.latency)
    }

    public var responses: UInt64 { statusCounts.values.reduce(0, +) }
    public var errors: UInt64 { errorCounts.values.reduce(0, +) }
    public var requests: UInt64 { responses + errors }

    /// Failed requests: errors, and responses with a status their request did not expect (by default any status of
    /// 400 or more, as in k6; a race expects its 409 "sold out", a correct refusal).
    public var failures: UInt64 { errors + unexpectedResponses }

    /// The responses of ``statusCounts`` whose status ``expected`` does not hold: what ``unexpectedResponses``
    /// counts, for stats built from status counts rather than recorded one by one.
    public var unexpectedInStatusCounts: UInt64 {
        statusCounts.filter { !expected.contains(Int($0.key) ?? 0) }.values.reduce(0, +)
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

    /// Every endpoint together, as the `overall` line: each endpoint's answers judged by its own expected statuses.
    public static func overall(_ stats: [EndpointStats]) -> EndpointStats {
        var overall = stats.reduce(into: EndpointStats(name: "overall")) { $0.add($1) }
        overall.expected = StatusSet(ranges: stats.flatMap(\.expected.ranges))
        return overall
    }
}

extension EndpointStats {
    /// The usual figures, derived from the counts and the histogram, written beside them in the JSON for readers
    /// that do not want to walk histogram buckets. Never read back: the histogram is the source of truth.
    public struct Summary: Codable, Sendable, Equatable {
        public let requests: UInt64
        public let failures: UInt64
        /// Requests per second over the phase.
        public let rps: Double
        /// Nothing when no response was measured: a latency that was not measured is never written as 0.
        public let latencyMicroseconds: [String: Double]
    }

    /// The summary over a phase of `durationSeconds`.
    public func summary(durationSeconds: Double) -> Summary {
        var latency: [String: Double] = [:]
        if self.latency.count > 0 {
            latency = [
                "min": Double(self.latency.minimum), "avg": self.latency.mean, "max": Double(self.latency.maximum),
            ]
            for (name, percentile) in [("p50", 50.0), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9)] {
                latency[name] = Double(self.latency.percentile(percentile))
            }
        }
        let rps = durationSeconds > 0 ? Double(requests) / durationSeconds : 0
        return Summary(requests: requests, failures: failures, rps: rps, latencyMicroseconds: latency)
    }

    private enum CodingKeys: String, CodingKey {
        case name, statusCounts, errorCounts, latency, expected, unexpectedResponses, outcomeCounts
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        statusCounts = try container.decode([String: UInt64].self, forKey: .statusCounts)
        errorCounts = try container.decode([String: UInt64].self, forKey: .errorCounts)
        latency = try container.decode(LatencyHistogram.self, forKey: .latency)
        // Results written before statuses were judged counted only 5xx as failures.
        expected = try container.decodeIfPresent(StatusSet.self, forKey: .expected) ?? StatusSet(ranges: [100...499])
        unexpectedResponses =
            try container.decodeIfPresent(UInt64.self, forKey: .unexpectedResponses) ?? unexpectedInStatusCounts
        outcomeCounts = try container.decodeIfPresent([String: UInt64].self, forKey: .outcomeCounts) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(statusCounts, forKey: .statusCounts)
        try container.encode(errorCounts, forKey: .errorCounts)
        try container.encode(latency, forKey: .latency)
        try container.encode(expected, forKey: .expected)
        try container.encode(unexpectedResponses, forKey: .unexpectedResponses)
        if !outcomeCounts.isEmpty { try container.encode(outcomeCounts, forKey: .outcomeCounts) }
    }
}
