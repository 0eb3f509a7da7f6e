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
            let html = json.deletingPathExtension().appendingPathExtension("html")
            defer { for file in [json, html] { try? FileManager.default.removeItem(at: file) } }
            let (status, output) = try await TurnstileProcess.run([
                "stress", "faults", "--database", url, "--users", "8", "--json", json.path, "--html", html.path,
                "--fault", "db:outage@1s+2s", "--fault", "db:latency=200ms@4s+2s", "--fault", "db:reset@7s+1s",
            ])
            #expect(status == 0, "\(output)")
            let report = try JSONReport.decode(Data(contentsOf: json))
            #expect(report.invariants.count == 8 && report.invariants.allSatisfy(\.passed), "\(output)")
            // The outage was felt: requests during its window were refused (fast 503s), not served.
            let outage = try #require(report.notes.first { $0.hasPrefix("db:outage") })
            let during = try #require(outage.firstMatch(of: /during n=(\d+) errors ([0-9.]+)%/))
            #expect((Int(during.1) ?? 0) > 0 && (Double(during.2) ?? 0) > 0, "\(outage)")
            // The load is a phase whose seconds the report charts, the faults shaded as its windows.
            let phase = try #require(report.phases.first)
            #expect(report.phases.map(\.name) == ["faults"] && phase.endpoints.map(\.name) == ["book", "event"])
            #expect(phase.windows.map(\.from) == [1, 4, 7] && phase.windows.map(\.to) == [3, 6, 8])
            #expect(phase.timeline.map(\.requests).reduce(0, +) == phase.overall.requests)
            // The child service it started is watched without asking: its memory and CPU beside the load.
            let resources = try #require(report.resources)
            #expect(resources.sources.first?.hasPrefix("the child turnstile serve, process ") == true, "\(resources)")
            #expect(resources.samples.count >= 5 && resources.samples.allSatisfy { ($0.residentBytes ?? 0) > 0 })
            let page = try String(contentsOf: html, encoding: .utf8)
            #expect(page.contains("<td>db:outage") && page.contains("<td>during</td>"))
        }
    }
}
