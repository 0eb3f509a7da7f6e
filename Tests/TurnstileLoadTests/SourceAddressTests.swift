import Foundation
import NIOCore
import Testing
import TurnstileReport
import TurnstileServer
import TurnstileTestSupport

@testable import TurnstileLoad

/// `--local-ips`: the engine's connections leave from several source addresses, in turn, so that a target that caps
/// one address's connections sees many; a bad list is one line before anything is sent.
@Suite("Source addresses", .serialized, .timeLimit(.minutes(2)))
struct SourceAddressTests {
    @Test("lists and ranges, IPv4 and IPv6; mistakes named")
    func parsing() throws {
        let v4 = try SourceAddresses(parsing: "127.0.0.2-127.0.0.4, 127.0.1.9")
        #expect(v4.addresses.map { $0.ipAddress ?? "" } == ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.1.9"])
        // Taken in turn, round and round.
        #expect(
            (0..<6).map { _ in v4.take().ipAddress ?? "" } == [
                "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.1.9", "127.0.0.2", "127.0.0.3",
            ])
        let v6 = try SourceAddresses(parsing: "fd00::fffe-fd00::1:1")
        #expect(v6.addresses.count == 4)
        for (text, problem) in [
            ("127.0.0.300", "is not an IP address"), ("127.0.0.9-127.0.0.2", "runs backwards"),
            ("fd00::1-fe00::1", "only in its last 32 bits"), ("10.0.0.0-10.1.0.0", "more than 65536"),
            ("127.0.0.1-::1", "is not an IP address"), ("", "no source address"),
        ] {
            #expect(throws: LoadTargetError.self) { try SourceAddresses(parsing: text) }
            do { _ = try SourceAddresses(parsing: text) } catch {
                #expect(error.description.contains(problem), "\(text): \(error)")
            }
        }
        // An address this machine does not have (TEST-NET-1) cannot be a source: said before anything is sent.
        let foreign = try SourceAddresses(parsing: "192.0.2.7")
        let target = try LoadTarget(parsing: "http://127.0.0.1:8080")
        #expect(throws: LoadTargetError.self) { try foreign.check(against: target) }
        #expect(throws: LoadTargetError.self) { try v6.check(against: target) }
        try v4.check(against: target)
    }

    @Test("60 buyers against a cap of 20 connections an address: reset from one address, exact from four")
    func capPerAddress() async throws {
        try await LiveServer.with(configure: { $0.connectionsPerClientMax = 20 }) { server in
            let scenario = try BundledScenario.race.load()
            let url = "http://127.0.0.1:\(server.port)"
            let alone = await run(scenario, target: try LoadTarget(parsing: url))
            #expect(alone.outcome == .couldNotRun || alone.phases.first?.overall.errors ?? 0 > 0, "\(alone.reasons)")
            let reasons = alone.reasons.joined(separator: " ") + "\(alone.phases.first?.overall.errorCounts ?? [:])"
            #expect(!reasons.contains("errno"), "\(reasons)")
            if (alone.phases.first?.overall.errorCounts["reset"] ?? 0) > 0 {
                #expect(alone.notes.contains { $0.contains("--local-ips") }, "\(alone.notes)")
            }
            let sources = try SourceAddresses(parsing: "127.0.0.2-127.0.0.5")
            let spread = await run(scenario, target: try LoadTarget(parsing: url, sources: sources))
            #expect(spread.outcome == .passed, "\(spread.reasons)")
            #expect(!spread.notes.contains { $0.contains("reset or closed") }, "\(spread.notes)")
            let phase = try #require(spread.phases.first)
            #expect(phase.overall.count(status: 201) == 10 && phase.overall.count(status: 409) == 50)
        }
    }

    private func run(_ scenario: ScenarioFile, target: LoadTarget) async -> RunReport {
        await StressRun.execute(suite: "race", target: target, thresholds: [.failuresDefault]) { report in
            try await ScenarioRunner(scenario, context: SuiteContext(target: target), overrides: ["users": 60])
                .run(into: &report)
        }
    }
}
