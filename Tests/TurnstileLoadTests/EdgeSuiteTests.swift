import NIOCore
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// The bad-input catalogue against the real service on 127.0.0.1.
@Suite("Edge suite", .timeLimit(.minutes(2)))
struct EdgeSuiteTests {
    @Test("every case of the catalogue gets its 4xx as problem+json: no 5xx, hang or reset, and /health after")
    func catalogueAgainstTheService() async throws {
        #expect(EdgeCatalogue.cases.count >= 50)
        let report = try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            return await StressRun.execute(suite: "edge", target: target, thresholds: []) { report in
                try await EdgeSuite(SuiteContext(target: target)).run(into: &report)
            }
        }
        #expect(report.failure == nil)
        for failed in report.invariants where !failed.passed {
            Issue.record("\(failed.rule): expected \(failed.expected), got \(failed.actual)")
        }
        #expect(report.invariants.count == EdgeCatalogue.cases.count + 1)
        #expect(report.outcome == .passed)
    }

    @Test("the verdicts: a 5xx, a hang, a reset or a bare 4xx fails; a silent close passes only where allowed")
    func verdicts() {
        let refusal = EdgeCase("refusal", [422]) { _ in [] }
        let unfinished = EdgeCase("unfinished", [408], silentClosePasses: true) { _ in [] }
        let problem = "application/problem+json"
        #expect(EdgeSuite.passes(.answered(status: 422, contentType: problem), refusal))
        #expect(!EdgeSuite.passes(.answered(status: 422, contentType: "text/html"), refusal))
        #expect(!EdgeSuite.passes(.answered(status: 400, contentType: problem), refusal))
        #expect(!EdgeSuite.passes(.answered(status: 500, contentType: problem), refusal))
        #expect(!EdgeSuite.passes(.timedOut, refusal))
        #expect(!EdgeSuite.passes(.reset, refusal))
        #expect(!EdgeSuite.passes(.closedSilently, refusal))
        #expect(EdgeSuite.passes(.closedSilently, unfinished))
        #expect(!EdgeSuite.passes(.answered(status: 503, contentType: problem), unfinished))
    }
}
