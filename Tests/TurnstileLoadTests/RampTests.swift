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

    @Test("mixed traffic in two stages: a phase per stage, and the books balance over both")
    func stagedMixed() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let context = SuiteContext(target: target)
            let users = try await context.provision(4)
            var report = RunReport(suite: "mixed", target: target.description)
            try await MixedSuite(mix: .classic, context: context).run(
                "mixed", users: users, shape: .ramp(try RampExecutor(parsing: "2:200ms,4:200ms")), into: &report)
            #expect(report.phases.map(\.users) == [2, 4])
            #expect(report.phases.map(\.name) == ["mixed (stage 1: 2 users)", "mixed (stage 2: 4 users)"])
            let booksBalanced = report.invariants.allSatisfy(\.passed)
            #expect(booksBalanced && report.invariants.count == 2)
        }
    }
}
