import Foundation
import Testing
import TurnstileReport
import TurnstileTestSupport

/// `turnstile stress faults` against a `turnstile serve` on the real PostgreSQL server, through the fault proxy.
@Suite(
    "stress faults (scenarios/faults.yaml) on PostgreSQL", .serialized, .timeLimit(.minutes(2)),
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
                "--set", "outage_at=1s", "--set", "outage_for=2s", "--set", "latency_at=4s", "--set", "latency_for=2s",
                "--set", "reset_at=7s", "--set", "reset_for=1s", "--set", "duration=9s",
            ])
            #expect(status == 0, "\(output)")
            let report = try JSONReport.decode(Data(contentsOf: json))
            #expect(report.invariants.count == 9 && report.invariants.allSatisfy(\.passed), "\(output)")
            // The outage was felt: bookings during its window were refused (fast 503s) or cut off, not served.
            let outage = try #require(report.faults.first { $0.name == "outage" })
            let during = try #require(outage.window("during")?.endpoints.first { $0.name == "book" })
            #expect(during.failures > 0 && during.longestMicroseconds < 5_000_000, "\(during)")
            #expect(outage.window("after")?.endpoints.first { $0.name == "book" }?.firstSuccessSeconds != nil)
            // The load is a phase whose seconds the report charts, the faults shaded as its windows.
            let phase = try #require(report.phases.first)
            #expect(report.phases.map(\.name) == ["faults"] && phase.endpoints.map(\.name) == ["book", "event"])
            #expect(phase.windows.map(\.name) == ["outage", "latency", "reset"])
            for (window, (from, to)) in zip(phase.windows, [(1.0, 3.0), (4.0, 6.0), (7.0, 8.0)]) {
                #expect(abs(window.from - from) < 0.2 && abs(window.to - to) < 0.2, "\(window)")
            }
            #expect(phase.timeline.map(\.requests).reduce(0, +) == phase.overall.requests)
            // The service the file started is watched without asking: its memory and CPU beside the load.
            let resources = try #require(report.resources)
            #expect(resources.sources.first?.hasPrefix("process 'service', process ") == true, "\(resources)")
            #expect(resources.samples.count >= 5 && resources.samples.allSatisfy { ($0.residentBytes ?? 0) > 0 })
            let page = try String(contentsOf: html, encoding: .utf8)
            // A table per fault beside the phase's charts, and each fault shaded on the resources' charts too.
            #expect(page.contains("<h3 class=\"fault\">Fault outage — outage on db (127.0.0.1:"), "fault table")
            #expect(page.contains("<title>fault outage</title>"), "the outage shaded on the resource charts")
        }
    }
}
