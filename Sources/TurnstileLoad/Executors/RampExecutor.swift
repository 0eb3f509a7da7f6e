import NIOCore
import TurnstileReport

/// Staged user counts: closed-loop stages one after another (say 10 users for 5 s, then 50 for 10 s), each reported
/// as its own phase, so the report shows how latency and throughput move as the load steps up.
public struct RampExecutor: Sendable {
    public struct Stage: Sendable, Equatable {
        public var users: Int
        public var duration: TimeAmount

        public init(users: Int, duration: TimeAmount) {
            precondition(users > 0 && duration > .zero, "a stage needs users and time")
            self.users = users
            self.duration = duration
        }
    }

    public var stages: [Stage]
    public var timeouts: HTTPClientConnection.Timeouts

    public init(stages: [Stage], timeouts: HTTPClientConnection.Timeouts = .init()) {
        precondition(!stages.isEmpty, "a ramp needs stages")
        self.stages = stages
        self.timeouts = timeouts
    }

    /// The most users any stage needs.
    public var usersMax: Int { stages.map(\.users).max() ?? 0 }

    /// Parses `USERS:DURATION[,USERS:DURATION…]`, e.g. `10:5s,50:10s,100:10s` (durations in ms, s or m).
    public init(parsing text: String, timeouts: HTTPClientConnection.Timeouts = .init()) throws(RampError) {
        var stages: [Stage] = []
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":")
            guard fields.count == 2, let users = Int(fields[0]), users > 0,
                let duration = Self.duration(String(fields[1]))
            else {
                throw RampError(description: "stage '\(part)' must be USERS:DURATION, e.g. 50:10s")
            }
            stages.append(Stage(users: users, duration: duration))
        }
        guard !stages.isEmpty else {
            throw RampError(description: "a ramp needs at least one stage, e.g. 10:5s,50:10s")
        }
        self.init(stages: stages, timeouts: timeouts)
    }

    private static func duration(_ text: String) -> TimeAmount? {
        for (unit, nanoseconds) in [("ms", 1e6), ("s", 1e9), ("m", 60e9)] where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)), value > 0 else { return nil }
            return .nanoseconds(Int64(value * nanoseconds))
        }
        return nil
    }

    /// Runs every stage with `scenario`; one phase per stage, named `name (stage k: N users)`.
    public func run(
        _ name: String, scenario: @escaping Scenario, target: LoadTarget, group: any EventLoopGroup,
        progress: ProgressReporter? = nil
    ) async throws -> [PhaseReport] {
        var phases: [PhaseReport] = []
        for (index, stage) in stages.enumerated() {
            let phase = try await ClosedExecutor(users: stage.users, duration: stage.duration, timeouts: timeouts).run(
                stageName(name, index), scenario: scenario, target: target, group: group, progress: progress)
            phases.append(phase)
        }
        return phases
    }

    /// Runs the stages with one script per user (see ``ClosedExecutor/run(_:scripts:target:group:progress:)``), one
    /// after another until one of them `breaks` (judged as each ends): no stage runs after it.
    public func run<Script: UserScript>(
        _ name: String, scripts: @escaping @Sendable (Int, any EventLoop) -> Script, target: LoadTarget,
        group: any EventLoopGroup, progress: ProgressReporter? = nil,
        until breaks: (PhaseReport) throws -> Bool = { _ in false }
    ) async throws -> [(report: PhaseReport, summaries: [Script.Summary])] {
        var phases: [(report: PhaseReport, summaries: [Script.Summary])] = []
        for (index, stage) in stages.enumerated() {
            let phase = try await ClosedExecutor(users: stage.users, duration: stage.duration, timeouts: timeouts).run(
                stageName(name, index), scripts: scripts, target: target, group: group, progress: progress)
            phases.append(phase)
            if try breaks(phase.report) { break }
        }
        return phases
    }

    private func stageName(_ name: String, _ index: Int) -> String {
        "\(name) (stage \(index + 1): \(stages[index].users) users)"
    }
}

public struct RampError: Error, CustomStringConvertible, Equatable {
    public let description: String
}
