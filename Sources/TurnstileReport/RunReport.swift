import Foundation

/// Everything a run found: its phases, the invariants it checked and the thresholds it judged. Complete and
/// mergeable: the JSON of several shards of one run can be added into one report with exact global percentiles.
public struct RunReport: Codable, Sendable {
    /// The exit codes of `turnstile stress`, documented in its `--help` and the README.
    public enum Outcome: Int32, Codable, Sendable {
        /// Every invariant held and every threshold passed.
        case passed = 0
        /// A threshold was breached.
        case thresholdBreached = 1
        /// An invariant was broken: oversold, undersold, lost or phantom writes.
        case invariantBroken = 2
        /// The run could not be carried out (target unreachable, bad flags, set-up failed).
        case couldNotRun = 3
    }

    public var suite: String
    public var target: String
    public var startedAt: Date
    public var phases: [PhaseReport] = []
    public var invariants: [InvariantResult] = []
    public var thresholds: [ThresholdResult] = []
    /// Why the run could not be carried out, when it could not.
    public var failure: String?
    /// Findings that are neither invariants nor thresholds, e.g. a breaking point.
    public var notes: [String] = []

    private enum CodingKeys: String, CodingKey {
        case suite, target, startedAt, phases, invariants, thresholds, failure, notes
    }

    /// Decodes a report; `notes` may be absent (reports written before it existed).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        suite = try container.decode(String.self, forKey: .suite)
        target = try container.decode(String.self, forKey: .target)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        phases = try container.decode([PhaseReport].self, forKey: .phases)
        invariants = try container.decode([InvariantResult].self, forKey: .invariants)
        thresholds = try container.decode([ThresholdResult].self, forKey: .thresholds)
        failure = try container.decodeIfPresent(String.self, forKey: .failure)
        notes = try container.decodeIfPresent([String].self, forKey: .notes) ?? []
    }

    public init(suite: String, target: String, startedAt: Date = Date()) {
        self.suite = suite
        self.target = target
        self.startedAt = startedAt
    }

    /// The verdict: a broken invariant beats everything (an oversell seen before the run broke off is still an
    /// oversell), then a run that could not be carried out, then a breached threshold.
    public var outcome: Outcome {
        if invariants.contains(where: { !$0.passed }) { return .invariantBroken }
        if failure != nil { return .couldNotRun }
        if thresholds.contains(where: { !$0.passed }) { return .thresholdBreached }
        return .passed
    }

    /// Adds another shard of the same run: phases of the same name add; invariants and thresholds are kept from
    /// both (thresholds should be judged again on the merged report, see ``ThresholdSet/judge(_:)``).
    public mutating func add(_ other: RunReport) {
        for phase in other.phases {
            if let index = phases.firstIndex(where: { $0.name == phase.name }) {
                phases[index].add(phase)
            } else {
                phases.append(phase)
            }
        }
        invariants += other.invariants
        notes += other.notes
        failure = failure ?? other.failure
        startedAt = min(startedAt, other.startedAt)
    }
}

/// One business rule checked against the target's state after a phase.
public struct InvariantResult: Codable, Sendable, Equatable {
    /// The phase it belongs to.
    public var phase: String
    /// What must hold, e.g. `successes = min(users, capacity ÷ seats)`.
    public var rule: String
    public var expected: String
    public var actual: String
    public var passed: Bool

    public init(phase: String, rule: String, expected: String, actual: String, passed: Bool) {
        self.phase = phase
        self.rule = rule
        self.expected = expected
        self.actual = actual
        self.passed = passed
    }

    /// An equality check between two values.
    public static func equal<Value: Equatable & CustomStringConvertible>(
        _ actual: Value, _ expected: Value, phase: String, rule: String
    ) -> InvariantResult {
        InvariantResult(
            phase: phase, rule: rule, expected: expected.description, actual: actual.description,
            passed: actual == expected)
    }
}
