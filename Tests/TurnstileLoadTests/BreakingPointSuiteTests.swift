import NIOCore
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

@Suite("Breaking point suite", .serialized, .timeLimit(.minutes(1)))
struct BreakingPointSuiteTests {
    @Test("stages double from the start up to the maximum")
    func stages() {
        #expect(BreakingPointSuite(startUsers: 8, usersMax: 100).stages == [8, 16, 32, 64, 100])
        #expect(BreakingPointSuite(startUsers: 5, usersMax: 5).stages == [5])
    }

    @Test("a stage past the p99 limit is the breaking point, and the ramp stops there")
    func breaks() async throws {
        let report = try await run(
            BreakingPointSuite(
                startUsers: 1, usersMax: 4, stageDuration: .milliseconds(200), p99MicrosecondsMax: 1))
        #expect(report.phases.count == 1)
        #expect(report.notes.first?.hasPrefix("breaking point: 1 users (p99") == true)
        let booksBalanced = report.invariants.allSatisfy(\.passed)
        #expect(booksBalanced)
    }

    @Test("with generous limits every stage runs and no breaking point is found")
    func holds() async throws {
        let report = try await run(
            BreakingPointSuite(
                startUsers: 1, usersMax: 2, stageDuration: .milliseconds(200), failureRatioMax: 0.5,
                p99MicrosecondsMax: 60_000_000))
        #expect(report.phases.map(\.users) == [1, 2])
        #expect(report.notes.first?.hasPrefix("no breaking point up to 2 users") == true)
    }

    private func run(_ suite: BreakingPointSuite) async throws -> RunReport {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            var report = RunReport(suite: "stress", target: target.description)
            try await suite.run(SuiteContext(target: target), into: &report)
            return report
        }
    }
}
