import Foundation
import Testing
import TurnstileReport
import TurnstileTestSupport

/// `turnstile stress faults` against a `turnstile serve` on the real PostgreSQL server, through the fault proxy.
@Suite(
    "stress faults on PostgreSQL", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: PostgresTestDatabase.url != nil, "TURNSTILE_POSTGRES_URL is not set: the faults suite is skipped"))
struct FaultsProcessTests {
    @Test("an outage, +200 ms latency and resets: only fast 503s, no hang, nothing lost, and writes recover")
    func outageLatencyResets() async throws {
        try await PostgresTestDatabase.withFresh { url in
            let json = FileManager.default.temporaryDirectory.appendingPathComponent("faults-\(UUID()).json")
            defer { try? FileManager.default.removeItem(at: json) }
            let (status, output) = try await TurnstileProcess.run([
                "stress", "faults", "--database", url, "--users", "8", "--json", json.path,
                "--fault", "db:outage@1s+2s", "--fault", "db:latency=200ms@4s+2s", "--fault", "db:reset@7s+1s",
            ])
            #expect(status == 0, "\(output)")
            let report = try JSONReport.decode(Data(contentsOf: json))
            #expect(report.invariants.count == 8 && report.invariants.allSatisfy(\.passed), "\(output)")
            // The outage was felt: requests during its window were refused (fast 503s), not served.
            let outage = try #require(report.notes.first { $0.hasPrefix("db:outage") })
            let during = try #require(outage.firstMatch(of: /during n=(\d+) errors ([0-9.]+)%/))
            #expect((Int(during.1) ?? 0) > 0 && (Double(during.2) ?? 0) > 0, "\(outage)")
        }
    }
}
