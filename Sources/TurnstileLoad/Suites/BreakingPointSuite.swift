import NIOCore
import TurnstileReport

/// Ramps load in stages — closed-loop mixed traffic with `startUsers`, then twice as many, and so on up to `usersMax`
/// — until a stage's failure rate passes `failureRatioMax` or its p99 passes `p99Max`: that stage is the breaking
/// point. Each stage is a phase of the report (with the mixed suite's invariants), and the finding is a note.
public struct BreakingPointSuite: Sendable {
    public var startUsers: Int
    public var usersMax: Int
    public var stageDuration: TimeAmount
    public var failureRatioMax: Double
    public var p99MicrosecondsMax: UInt64

    public init(
        startUsers: Int = 8, usersMax: Int = 512, stageDuration: TimeAmount = .seconds(5),
        failureRatioMax: Double = 0.01,
        p99MicrosecondsMax: UInt64 = 500_000
    ) {
        precondition(startUsers >= 1 && usersMax >= startUsers, "stages need users")
        self.startUsers = startUsers
        self.usersMax = usersMax
        self.stageDuration = stageDuration
        self.failureRatioMax = failureRatioMax
        self.p99MicrosecondsMax = p99MicrosecondsMax
    }

    /// The user counts of the stages: start, doubling, capped at the maximum.
    public var stages: [Int] {
        var stages = [startUsers]
        while stages.last! < usersMax { stages.append(min(stages.last! * 2, usersMax)) }
        return stages
    }

    public func run(_ context: SuiteContext, into report: inout RunReport) async throws {
        context.progress?.note("provisioning \(usersMax) users…")
        let users = try await context.provision(usersMax)
        let mixed = MixedSuite(mix: .classic, context: context)
        var lastGood: PhaseReport?
        for stage in stages {
            try await mixed.run(
                "stress \(stage) users", users: Array(users.prefix(stage)), duration: stageDuration, into: &report)
            let phase = report.phases[report.phases.count - 1]
            let overall = phase.overall
            let p99 = overall.latency.percentile(99)
            var reasons: [String] = []
            if overall.failureRatio > failureRatioMax {
                reasons.append(
                    "failures \(Format.percent(overall.failureRatio * 100)) > \(Format.percent(failureRatioMax * 100))")
            }
            if p99 > p99MicrosecondsMax {
                reasons.append("p99 \(Format.microseconds(p99)) > \(Format.microseconds(p99MicrosecondsMax))")
            }
            guard reasons.isEmpty else {
                report.phases[report.phases.count - 1].warnings.append(
                    "breaking point: " + reasons.joined(separator: ", "))
                var note = "breaking point: \(stage) users (\(reasons.joined(separator: ", ")))"
                if let lastGood {
                    note +=
                        "; last good stage: \(lastGood.users) users at \(Format.rate(lastGood.rate(lastGood.overall)))"
                }
                report.notes.append(note)
                return
            }
            lastGood = phase
        }
        let best = lastGood.map { " (\(Format.rate($0.rate($0.overall))) at \($0.users) users)" } ?? ""
        report.notes.append("no breaking point up to \(usersMax) users\(best)")
    }
}
