import Foundation
import NIOCore
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

@Suite("Ramp", .timeLimit(.minutes(1)))
struct RampTests {
    @Test("stages parse as USERS:DURATION lists")
    func parses() throws {
        let ramp = try RampExecutor(parsing: "10:5s,50:250ms,100:1m")
        #expect(
            ramp.stages == [
                .init(users: 10, duration: .seconds(5)), .init(users: 50, duration: .milliseconds(250)),
                .init(users: 100, duration: .seconds(60)),
            ])
        #expect(ramp.usersMax == 100)
    }

    @Test("malformed stages are refused", arguments: ["", "10", "10:", "0:5s", "10:5", "ten:5s", "10:-1s"])
    func refuses(_ text: String) {
        #expect(throws: RampError.self) { try RampExecutor(parsing: text) }
    }

    /// A ramp of 2, 4, 8 and 16 users on a target that takes 6 at once: it must stop after the 8-user stage. Each
    /// loop asks `/work` (capped) then `/look` (never): with weighted tasks instead, a user past the capacity on a
    /// machine busy enough to send it one or two requests a stage could draw only `/look`, and the stage would hold.
    static let climb = """
        name: climb
        vars: { top: 16, stage: 700ms }
        users: { count: top }
        phases:
          - name: climb
            executor: ramp
            stages:
              - { users: 2, duration: "${stage}" }
              - { users: 4, duration: "${stage}" }
              - { users: 8, duration: "${stage}" }
              - { users: top, duration: "${stage}" }
            stop: failure_ratio > 0.01 or p99_ms > 5000
            steps:
              - { name: work, path: /work }
              - { name: look, path: /look }
        """

    @Test("a ramp with a stop condition stops at the first stage past the target's capacity, and names it")
    func stopsAtBreakingPoint() async throws {
        try await CappedTarget.with(capacity: 6) { capped in
            let report = try await run(try ScenarioFile(yaml: Self.climb, file: "climb.yaml"), port: capped.port)
            // Stopping there is the ramp's finding, not a failure: the default errors<1% does not judge that stage.
            #expect(report.outcome == .passed, "\(report.reasons)")
            #expect(report.phases.map(\.users) == [2, 4, 8])
            let point = try #require(report.breakingPoints.first)
            #expect(point.ramp == "climb" && point.broke.users == 8 && point.held?.users == 4)
            #expect(point.reasons.count == 1 && point.reasons[0].hasPrefix("failure_ratio "), "\(point.reasons)")
            #expect(point.firstBroke == ["work"] && point.firstBrokeSecond != nil, "\(point)")
            #expect(point.held.map { $0.failureRatio == 0 && $0.requestsPerSecond > 0 } == true)
            #expect(report.notes.contains(point.note) && point.note.contains("last stage that held: climb (stage 2"))
            #expect(report.phases[2].warnings.contains { $0.hasPrefix("breaking point: failure_ratio") })
            let decoded = try JSONReport.decode(try JSONReport.encode(report))
            #expect(decoded.breakingPoints == report.breakingPoints)
        }
    }

    @Test("a ramp that never meets its stop condition runs every stage and says so")
    func noBreakingPoint() async throws {
        try await CappedTarget.with(capacity: 64) { capped in
            // Stages of 700 ms: on a machine busy with other tests, a shorter one may end before its first answer.
            let report = try await run(try ScenarioFile(yaml: Self.climb, file: "climb.yaml"), port: capped.port)
            #expect(report.outcome == .passed, "\(report.reasons)")
            #expect(report.phases.map(\.users) == [2, 4, 8, 16] && report.breakingPoints.isEmpty)
            #expect(report.notes.contains("climb: no breaking point up to 16 users"), "\(report.notes)")
        }
    }

    @Test("'stop' reads a stage's figures and the variables; anything else is an error at its place")
    func stopNames() {
        let yaml = Self.climb.replacingOccurrences(of: "failure_ratio > 0.01", with: "failure_rate > 0.01")
        #expect(throws: ScenarioError.self) { try ScenarioFile(yaml: yaml, file: "climb.yaml") }
        do {
            _ = try ScenarioFile(yaml: yaml, file: "climb.yaml")
        } catch {
            #expect(error.description.contains("not 'failure_rate' (did you mean 'failure_ratio'?)"), "\(error)")
        }
        let closed = "name: c\nphases:\n  - {name: p, executor: closed, duration: 1s, stop: x, request: {path: /}}\n"
        #expect(throws: ScenarioError.self) { try ScenarioFile(yaml: closed, file: "c.yaml") }
    }

    private func run(_ scenario: ScenarioFile, port: Int) async throws -> RunReport {
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        let thresholds = [Threshold.failuresDefault]
        return await StressRun.execute(
            suite: scenario.name, target: target, thresholds: thresholds, endpoints: scenario.endpoints
        ) { report in
            try await ScenarioRunner(scenario, context: SuiteContext(target: target)).run(into: &report)
        }
    }
}
