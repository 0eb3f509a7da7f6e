import Foundation

/// Everything a run found: its phases, the invariants it checked and the thresholds it judged. Complete and
/// mergeable: the JSON of several shards of one run can be added into one report with exact global percentiles.
public struct RunReport: Codable, Sendable {
    /// The exit codes of `turnstile stress`, documented in its `--help`, the README and docs/engine.md.
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

    /// Tells runs apart: the shards of one run share it (`--run-id`), and only results with the same run id and
    /// suite are merged.
    public var runID: String
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
    /// The target's CPU, memory and metrics over the run, when watched (`--watch-pid`, `--watch-metrics`).
    public var resources: ResourceTimeline?
    /// What each fault of a scenario's timeline did, and how the target recovered.
    public var faults: [FaultReport] = []
    /// Where each ramp with a `stop` condition stopped.
    public var breakingPoints: [BreakingPoint] = []
    /// What each group of a scenario's live-feed subscribers received.
    public var feeds: [FeedReport] = []
    /// Every bad input a scenario's bad-input phases sent, with its verdict.
    public var badInputs: [BadInputCase] = []
    /// Which shard of a sharded run this result is, and what it carries to the merge.
    public var shard: ShardRecord?

    private enum CodingKeys: String, CodingKey {
        case result, runID = "runId", suite, target, startedAt, phases, invariants, thresholds, failure, notes
        case resources, faults, breakingPoints, feeds, badInputs, shard
    }

    /// Decodes a report; `notes` and the run id may be absent (reports written before they existed).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runID = try container.decodeIfPresent(String.self, forKey: .runID) ?? ""
        suite = try container.decode(String.self, forKey: .suite)
        target = try container.decode(String.self, forKey: .target)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        phases = try container.decode([PhaseReport].self, forKey: .phases)
        invariants = try container.decode([InvariantResult].self, forKey: .invariants)
        thresholds = try container.decode([ThresholdResult].self, forKey: .thresholds)
        failure = try container.decodeIfPresent(String.self, forKey: .failure)
        notes = try container.decodeIfPresent([String].self, forKey: .notes) ?? []
        resources = try container.decodeIfPresent(ResourceTimeline.self, forKey: .resources)
        faults = try container.decodeIfPresent([FaultReport].self, forKey: .faults) ?? []
        breakingPoints = try container.decodeIfPresent([BreakingPoint].self, forKey: .breakingPoints) ?? []
        feeds = try container.decodeIfPresent([FeedReport].self, forKey: .feeds) ?? []
        badInputs = try container.decodeIfPresent([BadInputCase].self, forKey: .badInputs) ?? []
        shard = try container.decodeIfPresent(ShardRecord.self, forKey: .shard)
    }

    /// Writes the verdict first (`result`: passed, exit code and the reasons), then everything it rests on.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Verdict(self), forKey: .result)
        try container.encode(runID, forKey: .runID)
        try container.encode(suite, forKey: .suite)
        try container.encode(target, forKey: .target)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(phases, forKey: .phases)
        try container.encode(invariants, forKey: .invariants)
        try container.encode(thresholds, forKey: .thresholds)
        try container.encodeIfPresent(failure, forKey: .failure)
        try container.encode(notes, forKey: .notes)
        try container.encodeIfPresent(resources, forKey: .resources)
        if !faults.isEmpty { try container.encode(faults, forKey: .faults) }
        if !breakingPoints.isEmpty { try container.encode(breakingPoints, forKey: .breakingPoints) }
        if !feeds.isEmpty { try container.encode(feeds, forKey: .feeds) }
        if !badInputs.isEmpty { try container.encode(badInputs, forKey: .badInputs) }
        try container.encodeIfPresent(shard, forKey: .shard)
    }

    public init(suite: String, target: String, startedAt: Date = Date(), runID: String = RunReport.newRunID()) {
        self.runID = runID
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

    /// A fresh run id: 12 random base-36 digits.
    public static func newRunID() -> String {
        String((0..<12).map { _ in "0123456789abcdefghijklmnopqrstuvwxyz".randomElement()! })
    }

    /// Why the verdict is what it is, one line each: why the run could not be carried out, every broken invariant
    /// and every breached threshold. Empty for a pass.
    public var reasons: [String] {
        var reasons: [String] = []
        if let failure { reasons.append("could not run: \(failure)") }
        for invariant in invariants where !invariant.passed {
            reasons.append(
                "invariant broken in \(invariant.phase): \(invariant.rule): expected \(invariant.expected), "
                    + "got \(invariant.actual)")
        }
        for threshold in thresholds where !threshold.passed {
            reasons.append("threshold breached in \(threshold.phase): \(threshold.threshold) (\(threshold.actual))")
        }
        return reasons
    }

    /// Why the run measured nothing it could judge, if so: a phase in which no request got an answer (everything
    /// failed to connect, timed out or was reset) or that sent none. Such a run could not be carried out; it must
    /// never read as a pass.
    public func unmeasuredReason(target: String) -> String? {
        for phase in phases {
            let overall = phase.overall
            guard overall.responses == 0 else { continue }
            guard overall.requests > 0 else { return "phase '\(phase.name)' sent no request" }
            if Array(overall.errorCounts.keys) == [EndpointStats.ErrorKind.connect.rawValue] {
                return Self.unreachable(target, "\(overall.requests) connections failed")
            }
            if Array(overall.errorCounts.keys) == [EndpointStats.ErrorKind.tls.rawValue] {
                return Self.tlsFailed(target, "\(overall.requests) TLS handshakes failed")
            }
            let errors = overall.errorCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }
            return "none of the \(overall.requests) requests of phase '\(phase.name)' got an answer ("
                + errors.joined(separator: " ") + ")"
        }
        return nil
    }

    /// Why a run against a target nothing answers at could not be carried out, and what to do: one wording for
    /// every way the engine finds out.
    public static func unreachable(_ target: String, _ detail: String) -> String {
        "nothing listens on \(target) (\(detail)) — start `turnstile serve` or pass --target"
    }

    /// Why a run whose target's TLS handshake fails could not be carried out, and what to do.
    public static func tlsFailed(_ target: String, _ detail: String) -> String {
        "TLS with \(target) failed (\(detail)) — pass --ca-file FILE to trust its certificate, or --insecure to skip "
            + "the check"
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
        faults += other.faults.filter { !faults.contains($0) }
        failure = failure ?? other.failure
        startedAt = min(startedAt, other.startedAt)
        // Each shard watched its own view of the target: keep the first, which the merged report's charts show.
        resources = resources ?? other.resources
    }
}

/// The verdict as the JSON result states it first: whether the run passed, its exit code and why.
public struct Verdict: Codable, Sendable, Equatable {
    public var passed: Bool
    public var exitCode: Int32
    public var reasons: [String]

    public init(_ report: RunReport) {
        passed = report.outcome == .passed
        exitCode = report.outcome.rawValue
        reasons = report.reasons
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
