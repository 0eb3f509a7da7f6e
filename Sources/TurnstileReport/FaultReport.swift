/// What one fault of a run did: when it was on, the load's statistics before, during and after it, and how long the
/// target took to recover.
public struct FaultReport: Codable, Sendable, Equatable {
    /// The fault's name in its scenario.
    public var name: String
    /// `proxy`, `command`, `signal` or `restart`.
    public var kind: String
    /// What it did, e.g. `outage on db (127.0.0.1:6380 → 127.0.0.1:6379)`.
    public var action: String
    /// The phase it was in.
    public var phase: String
    /// Seconds from the phase's start to the fault's start and end; nil when it never began or never ended.
    public var began: Double?
    public var ended: Double?
    /// The phase's requests around the fault: `before` (sent and ended between the previous fault's start or end, or
    /// the phase's start, and this one's start), `during` (every request that met the fault: sent before its end,
    /// ended after its start), and `after` (sent between its end and the next fault's start or end, or the phase's
    /// end).
    public var windows: [Window]
    /// Seconds from the fault's end to the first answer the request expected, among requests sent after the end; nil
    /// when none came.
    public var firstSuccessSeconds: Double?
    /// Seconds from the fault's end until every later second of the phase's timeline had failures and p99 back
    /// within ``RecoveryBound`` of the before-window's; nil when the phase ended first ("never").
    public var recoverySeconds: Double?
    /// The commands it ran, signals it sent and processes it restarted, one line each with the outcome.
    public var log: [String]

    public init(
        name: String, kind: String, action: String, phase: String, began: Double?, ended: Double?, windows: [Window],
        firstSuccessSeconds: Double?, recoverySeconds: Double?, log: [String]
    ) {
        self.name = name
        self.kind = kind
        self.action = action
        self.phase = phase
        self.began = began
        self.ended = ended
        self.windows = windows
        self.firstSuccessSeconds = firstSuccessSeconds
        self.recoverySeconds = recoverySeconds
        self.log = log
    }

    /// The window called `name` (`before`, `during`, `after`).
    public func window(_ name: String) -> Window? { windows.first { $0.name == name } }

    /// A stretch of the phase around a fault, and what its requests met.
    public struct Window: Codable, Sendable, Equatable {
        public var name: String
        /// Seconds from the phase's start.
        public var from: Double
        public var to: Double
        /// Each endpoint that sent a request in the window.
        public var endpoints: [Endpoint]

        public init(name: String, from: Double, to: Double, endpoints: [Endpoint]) {
            self.name = name
            self.from = from
            self.to = to
            self.endpoints = endpoints.sorted { $0.name < $1.name }
        }

        /// Every endpoint together.
        public var overall: Endpoint {
            var all = Endpoint(name: "all")
            for endpoint in endpoints { all.add(endpoint) }
            return all
        }
    }

    /// One endpoint's requests in a window.
    public struct Endpoint: Codable, Sendable, Equatable {
        public var name: String
        public var requests: UInt64 = 0
        /// Requests that got no answer, or one they did not expect.
        public var failures: UInt64 = 0
        public var statuses: [String: UInt64] = [:]
        /// Answers by the named outcome they were classified in, for requests whose outcomes read bodies (see
        /// ``EndpointStats/outcomeCounts``).
        public var outcomes: [String: UInt64] = [:]
        /// Requests that ended without an answer, by kind.
        public var errors: [String: UInt64] = [:]
        /// The latency of the answers.
        public var latency = LatencyHistogram(precision: .coarse)
        /// The longest any request of the window waited, answered or not, in microseconds: a request that hung until
        /// its timeout shows here, though it has no latency.
        public var longestMicroseconds: UInt64 = 0
        /// Seconds from the window's start to the first answer the endpoint's requests expected, among those sent in
        /// the window (after a fault's end, for its after-window); nil when none came.
        public var firstSuccessSeconds: Double?

        public init(name: String) {
            self.name = name
        }

        public var unanswered: UInt64 { errors.values.reduce(0, +) }

        public var failureRatio: Double? { requests == 0 ? nil : Double(failures) / Double(requests) }

        public mutating func add(_ other: Endpoint) {
            requests += other.requests
            failures += other.failures
            statuses.merge(other.statuses, uniquingKeysWith: +)
            outcomes.merge(other.outcomes, uniquingKeysWith: +)
            errors.merge(other.errors, uniquingKeysWith: +)
            latency.add(other.latency)
            longestMicroseconds = max(longestMicroseconds, other.longestMicroseconds)
            firstSuccessSeconds = [firstSuccessSeconds, other.firstSuccessSeconds].compactMap { $0 }.min()
        }
    }
}

/// When a target counts as recovered from a fault: each second's failure ratio at most one percentage point above
/// the before-window's, and its p95 at most twice the before-window's (and never less than 10 ms above it, so that a
/// sub-millisecond baseline's jitter does not read as a fault that never ended).
///
/// The p95, not the p99: a second of a few dozen answers has no p99 but its slowest answer, so one slow request on a
/// busy machine would read as a target that never recovered. For the same reason a second with fewer than
/// ``latencyAnswersMin`` answers (the phase's last, cut short, or a slow target's) is judged by its failures alone.
public enum RecoveryBound {
    public static let failureRatioSlack = 0.01
    public static let latencyAnswersMin: UInt64 = 20
    public static let latencyPercentile = 95.0
    public static let latencyFactor = 2.0
    public static let latencySlackMicroseconds: UInt64 = 10_000

    /// Whether a second with `failures` of `requests` and latencies `latency` is back within `before`'s bounds.
    public static func holds(
        requests: UInt64, failures: UInt64, latency: LatencyHistogram, before: FaultReport.Endpoint
    ) -> Bool {
        guard requests > 0 else { return true }
        let ratio = Double(failures) / Double(requests)
        guard ratio <= (before.failureRatio ?? 0) + failureRatioSlack else { return false }
        guard latency.count >= latencyAnswersMin, !before.latency.isEmpty else { return true }
        let baseline = before.latency.percentile(latencyPercentile)
        let bound = max(UInt64(Double(baseline) * latencyFactor), baseline + latencySlackMicroseconds)
        return latency.percentile(latencyPercentile) <= bound
    }
}
