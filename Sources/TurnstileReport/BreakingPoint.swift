/// Where a ramp stopped raising the load: the first stage whose figures met the ramp's `stop` condition, what in it
/// broke first, and the last stage that held. Stopping there is the ramp's expected end, not a failure.
public struct BreakingPoint: Codable, Sendable, Equatable {
    /// One stage as the report names it.
    public struct Stage: Codable, Sendable, Equatable {
        /// The stage's phase in the report.
        public var phase: String
        public var users: Int
        public var requestsPerSecond: Double
        /// Nil when no answer was measured.
        public var p99Microseconds: UInt64?
        public var failureRatio: Double

        public init(_ phase: PhaseReport) {
            self.phase = phase.name
            users = phase.users
            let overall = phase.overall
            requestsPerSecond = phase.rate(overall)
            p99Microseconds = overall.latency.isEmpty ? nil : overall.latency.percentile(99)
            failureRatio = overall.failureRatio
        }

        var summary: String {
            "\(Format.rate(requestsPerSecond)), p99 "
                + (p99Microseconds.map(Format.microseconds) ?? "not measured") + ", failures "
                + Format.percent(failureRatio * 100)
        }
    }

    /// The ramp phase's name, as the scenario writes it.
    public var ramp: String
    /// The stop condition, as written.
    public var condition: String
    /// The stage that met it.
    public var broke: Stage
    /// The parts of the condition that held there, each with what was measured: `p99_ms 1204.3 > 1000`.
    public var reasons: [String]
    /// The endpoints whose own figures met the condition first, and in which second of the stage (from 0); the
    /// stage as a whole when no endpoint met it in any one second alone.
    public var firstBroke: [String]
    public var firstBrokeSecond: Int?
    /// The last stage before it: the most load that held. Nil when the first stage broke.
    public var held: Stage?

    public init(
        ramp: String, condition: String, broke: Stage, reasons: [String], firstBroke: [String],
        firstBrokeSecond: Int?, held: Stage?
    ) {
        self.ramp = ramp
        self.condition = condition
        self.broke = broke
        self.reasons = reasons
        self.firstBroke = firstBroke
        self.firstBrokeSecond = firstBrokeSecond
        self.held = held
    }

    /// One line for the report's notes.
    public var note: String {
        var line = "breaking point of \(ramp): \(broke.phase) (\(reasons.joined(separator: ", ")))"
        if !firstBroke.isEmpty {
            line += "; first to break: \(firstBroke.joined(separator: ", "))"
            if let second = firstBrokeSecond { line += " in its second \(second + 1)" }
        }
        line += held.map { "; last stage that held: \($0.phase), \($0.summary)" } ?? "; no stage held"
        return line
    }
}
