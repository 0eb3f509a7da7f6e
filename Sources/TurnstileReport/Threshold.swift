/// A pass/fail limit on a run's results, written as text on the command line:
///
/// ```
/// p95<500ms          95th percentile latency, every endpoint together, below 500 ms
/// book:p99<1s        the same for the endpoint named `book` only
/// errors<1%          failed requests (errors and 5xx) below 1 % of requests
/// rps>100            at least 100 requests per second
/// dropped<5%         an open (arrival-rate) phase sent at least 95 % of the arrivals it was asked for
/// ```
///
/// Metrics: `min`, `avg`, `p50`, `p90`, `p95`, `p99`, `p99.9`, `max` (with a unit: `us`, `ms` or `s`), `errors`
/// and `dropped` (percentages) and `rps`. Comparisons: `<`, `<=`, `>`, `>=`.
///
/// Every open phase is held to ``droppedDefault`` unless a `dropped` threshold is given: a run that did not send
/// the load it was asked for must not read as a pass.
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
    public enum Metric: Sendable, Equatable {
        case latencyPercentile(Double)
        case latencyMin
        case latencyAverage
        case latencyMax
        case failurePercent
        case requestsPerSecond
        /// The share of an open phase's arrivals never sent, in percent; only open phases have one.
        case droppedPercent
    }

    /// What every open phase is held to unless the run names its own `dropped` limit.
    public static let droppedDefault = try! Threshold(parsing: "dropped<1%")

    /// What a scenario run is held to unless it names its own `errors` limit: failures (errors, and answers the
    /// requests did not expect) under 1 % of requests. The report shows it as `errors<1% (default)`.
    public static let failuresDefault = try! Threshold(parsing: "errors<1%", named: "errors<1% (default)")

    public enum Comparison: String, Sendable, Equatable, CaseIterable {
        case below = "<"
        case atMost = "<="
        case above = ">"
        case atLeast = ">="

        func holds(_ actual: Double, _ limit: Double) -> Bool {
            switch self {
            case .below: actual < limit
            case .atMost: actual <= limit
            case .above: actual > limit
            case .atLeast: actual >= limit
            }
        }
    }

    /// The endpoint it applies to; nil for every endpoint together.
    public let endpoint: String?
    public let metric: Metric
    public let comparison: Comparison
    /// The limit in the metric's base unit: microseconds, percent, or requests per second.
    public let limit: Double
    /// The text it was parsed from.
    public let description: String

    /// Parses a threshold; the error says what is wrong and shows the expected form. The report calls it `name`
    /// (the text itself by default).
    public init(parsing text: String, named name: String? = nil) throws(ThresholdError) {
        description = name ?? text
        // Endpoint names may hold spaces (`GET /health:p95<1ms`); the limit itself may be written with or without.
        var rest = Substring(text)
        if let colon = rest.lastIndex(of: ":") {
            let name = rest[..<colon].trimmingWhitespace()
            guard !name.isEmpty else { throw ThresholdError(text, "the endpoint name before ':' is empty") }
            endpoint = name
            rest = rest[rest.index(after: colon)...]
        } else {
            endpoint = nil
        }
        rest = Substring(rest.filter { !$0.isWhitespace })
        guard let operatorStart = rest.firstIndex(where: { $0 == "<" || $0 == ">" }) else {
            throw ThresholdError(text, "no comparison: use <, <=, > or >=")
        }
        let metricText = rest[..<operatorStart].lowercased()
        var valueStart = rest.index(after: operatorStart)
        var operatorText = String(rest[operatorStart])
        if valueStart < rest.endIndex, rest[valueStart] == "=" {
            operatorText += "="
            valueStart = rest.index(after: valueStart)
        }
        comparison = Comparison(rawValue: operatorText)!
        let valueText = String(rest[valueStart...]).lowercased()

        switch metricText {
        case "errors", "error", "failures":
            metric = .failurePercent
            limit = try Self.percentage(valueText, in: text, "errors take a percentage, e.g. errors<1%")
        case "dropped":
            metric = .droppedPercent
            guard endpoint == nil else {
                throw ThresholdError(text, "dropped arrivals are a whole open phase's, not an endpoint's: dropped<1%")
            }
            limit = try Self.percentage(valueText, in: text, "dropped takes a percentage, e.g. dropped<1%")
        case "rps":
            metric = .requestsPerSecond
            guard let value = Double(valueText), value >= 0 else {
                throw ThresholdError(text, "rps takes a number, e.g. rps>100")
            }
            limit = value
        default:
            switch metricText {
            case "min": metric = .latencyMin
            case "avg", "mean": metric = .latencyAverage
            case "max": metric = .latencyMax
            case let percentile where percentile.hasPrefix("p"):
                guard let value = Double(percentile.dropFirst()), value > 0, value <= 100 else {
                    throw ThresholdError(text, "a percentile is p1 to p100, e.g. p95 or p99.9")
                }
                metric = .latencyPercentile(value)
            default:
                throw ThresholdError(
                    text, "unknown metric '\(metricText)': use p50…p99.9, min, avg, max, errors, dropped or rps")
            }
            guard let microseconds = Self.microseconds(valueText) else {
                throw ThresholdError(text, "a latency takes a unit, e.g. 500ms, 1s or 250us")
            }
            limit = microseconds
        }
    }

    /// `value` read as a percentage (`1%`, `0.5%`); otherwise the threshold `text` is refused with `problem`.
    private static func percentage(
        _ value: String, in text: String, _ problem: String
    ) throws(ThresholdError)
        -> Double
    {
        guard value.hasSuffix("%"), let number = Double(value.dropLast()), number >= 0 else {
            throw ThresholdError(text, problem)
        }
        return number
    }

    private static func microseconds(_ text: String) -> Double? {
        for (unit, factor) in [("ms", 1_000.0), ("us", 1.0), ("µs", 1.0), ("s", 1_000_000.0)] where text.hasSuffix(unit)
        {
            guard let value = Double(text.dropLast(unit.count)), value >= 0 else { return nil }
            return value * factor
        }
        return nil
    }

    /// Whether the metric is a latency, which needs responses to be measured at all.
    var isLatency: Bool {
        switch metric {
        case .latencyPercentile, .latencyMin, .latencyAverage, .latencyMax: true
        case .failurePercent, .requestsPerSecond, .droppedPercent: false
        }
    }

    /// The metric's value for `stats` in `phase`, in the limit's unit.
    func measure(_ stats: EndpointStats, in phase: PhaseReport) -> Double {
        switch metric {
        case .latencyPercentile(let percentile): Double(stats.latency.percentile(percentile))
        case .latencyMin: Double(stats.latency.minimum)
        case .latencyAverage: stats.latency.mean
        case .latencyMax: Double(stats.latency.maximum)
        case .failurePercent: stats.failureRatio * 100
        case .requestsPerSecond: phase.rate(stats)
        case .droppedPercent: phase.droppedPercent ?? 0
        }
    }

    /// Formats a measured value in the metric's unit.
    func format(_ value: Double) -> String {
        switch metric {
        case .failurePercent, .droppedPercent: Format.percent(value)
        case .requestsPerSecond: Format.rate(value)
        default: Format.microseconds(value)
        }
    }
}

/// A threshold that could not be parsed.
public struct ThresholdError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ text: String, _ problem: String) {
        description = "threshold '\(text)': \(problem)"
    }
}

/// The outcome of one threshold on one phase.
public struct ThresholdResult: Codable, Sendable, Equatable {
    public var threshold: String
    public var phase: String
    public var actual: String
    public var passed: Bool

    public init(threshold: String, phase: String, actual: String, passed: Bool) {
        self.threshold = threshold
        self.phase = phase
        self.actual = actual
        self.passed = passed
    }
}

/// Judges thresholds against a report's phases.
public enum ThresholdSet {
    /// One result per threshold and phase. A threshold naming an endpoint a phase does not have is skipped for that
    /// phase, but one naming an endpoint that no phase has fails (a typo must not pass silently). A phase without any
    /// requests is not judged; a latency limit on requests that all failed (no response to measure) fails. A
    /// `dropped` limit judges open phases only, and ``Threshold/droppedDefault`` stands in when none is given.
    /// ``Threshold/failuresDefault`` does not judge a phase that had faults, the stage a ramp broke at, nor a
    /// bad-input phase (whose verdicts are its own invariants).
    public static func judge(_ thresholds: [Threshold], on report: RunReport) -> [ThresholdResult] {
        var results: [ThresholdResult] = []
        var thresholds = thresholds
        if !thresholds.contains(where: { $0.metric == .droppedPercent }) { thresholds.append(.droppedDefault) }
        for threshold in thresholds {
            if let endpoint = threshold.endpoint,
                !report.phases.contains(where: { phase in
                    phase.endpoints.contains { $0.name == endpoint }
                })
            {
                results.append(
                    ThresholdResult(
                        threshold: threshold.description, phase: "-", actual: "no endpoint named '\(endpoint)'",
                        passed: false))
            }
        }
        for phase in report.phases where phase.overall.requests > 0 {
            for threshold in thresholds {
                if threshold.metric == .droppedPercent, phase.droppedStarts == nil { continue }
                // Failures are what a phase under faults is for: its windows and invariants say which are fine.
                if threshold == .failuresDefault, report.faults.contains(where: { $0.phase == phase.name }) { continue }
                if threshold == .failuresDefault, phase.executor == "bad_input" { continue }
                // A ramp with a stop condition is meant to break: its breaking stage's failures are its finding.
                if threshold == .failuresDefault,
                    report.breakingPoints.contains(where: { $0.broke.phase == phase.name })
                {
                    continue
                }
                let stats: EndpointStats
                if let endpoint = threshold.endpoint {
                    guard let named = phase.endpoints.first(where: { $0.name == endpoint }) else { continue }
                    stats = named
                } else {
                    stats = phase.overall
                }
                if threshold.isLatency, stats.responses == 0 {
                    results.append(
                        ThresholdResult(
                            threshold: threshold.description, phase: phase.name, actual: "no responses", passed: false))
                    continue
                }
                let value = threshold.measure(stats, in: phase)
                results.append(
                    ThresholdResult(
                        threshold: threshold.description, phase: phase.name, actual: threshold.format(value),
                        passed: threshold.comparison.holds(value, threshold.limit)))
            }
        }
        return results
    }
}
