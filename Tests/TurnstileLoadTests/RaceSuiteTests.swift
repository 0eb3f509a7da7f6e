import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

@Suite("Race suite", .serialized, .timeLimit(.minutes(2)))
struct RaceSuiteTests {
    @Test("against the real service: every invariant holds, the spread is reported, the JSON round-trips")
    func exactService() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await StressRun.execute(
                suite: "race", target: target, thresholds: [try Threshold(parsing: "errors<1%")]
            ) { report in
                try await RaceSuite(SuiteContext(target: target)).run(
                    [.init(users: 60, capacity: 7), .init(users: 30, capacity: 20, seatsPerUser: 3)], into: &report)
            }
            #expect(report.failure == nil)
            #expect(report.outcome == .passed)
            #expect(report.invariants.count == 14 && report.invariants.allSatisfy(\.passed))
            #expect(report.phases.map { $0.overall.count(status: 201) } == [7, 6])
            #expect(report.phases.allSatisfy { $0.releaseSpreadMicroseconds != nil })
            let decoded = try JSONReport.decode(JSONReport.encode(report))
            #expect(decoded.outcome == .passed && decoded.phases.count == 2)
        }
    }

    @Test("a race whose bookings the target refuses as requests did not happen: could not run, not an oversell")
    func refusedRace() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await StressRun.execute(suite: "race", target: target, thresholds: []) { report in
                // 20 seats per booking: the service refuses each with 422, before any seat is considered.
                try await RaceSuite(SuiteContext(target: target))
                    .run([.init(users: 5, capacity: 2, seatsPerUser: 20)], into: &report)
            }
            #expect(report.outcome == .couldNotRun, "\(report.invariants)")
            #expect(report.failure?.contains("refused 5 of 5 requests of 'race 5×20→2' with 422") == true)
            #expect(report.invariants.isEmpty)
        }
    }

    @Test("against a target that oversells: the engine says so, as a broken invariant")
    func catchesOversell() async throws {
        try await BrokenTarget.with(buyers: 20) { broken in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(broken.port)")
            let report = await StressRun.execute(suite: "race", target: target, thresholds: []) { report in
                try await RaceSuite(SuiteContext(target: target))
                    .run([.init(users: 20, capacity: 5)], into: &report)
            }
            #expect(report.failure == nil)
            #expect(report.outcome == .invariantBroken)
            let successes = try #require(report.invariants.first { $0.rule.hasPrefix("successes") })
            #expect(!successes.passed && successes.actual == "20")
        }
    }

    @Test("against a target that loses acknowledged bookings: the read-back catches it")
    func catchesLostWrites() async throws {
        try await BrokenTarget.with(buyers: 10, defect: .losesBookings) { broken in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(broken.port)")
            let report = await StressRun.execute(suite: "race", target: target, thresholds: []) { report in
                try await RaceSuite(SuiteContext(target: target))
                    .run([.init(users: 10, capacity: 3)], into: &report)
            }
            #expect(report.outcome == .invariantBroken)
            let stored = try #require(report.invariants.first { $0.rule.hasPrefix("stored bookings") })
            #expect(!stored.passed && stored.actual == "0")
        }
    }

    @Test("an unreachable target is a run that could not be carried out")
    func unreachable() async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let report = await StressRun.execute(suite: "race", target: target, thresholds: []) { report in
            try await RaceSuite(SuiteContext(target: target))
                .run([.init(users: 3, capacity: 1)], into: &report)
        }
        #expect(report.outcome == .couldNotRun)
    }
}
