import Foundation
import Testing
import TurnstileReport

/// `turnstile report compare`: two runs of one test side by side, endpoint by endpoint, with the change and the
/// better side.
@Suite("Run comparison")
struct RunComparisonTests {
    /// A run of `suite` with one phase whose endpoints answered `requests` times in `seconds`, each taking
    /// `microseconds`, `failing` of them with a 503.
    static func run(
        _ suite: String = "mixed", phase: String = "load", seconds: Double = 10,
        endpoints: [(name: String, requests: Int, microseconds: UInt64, failing: Int)]
    ) -> RunReport {
        var report = RunReport(suite: suite, target: "http://127.0.0.1:8080")
        let stats = endpoints.map { endpoint in
            var stats = EndpointStats(name: endpoint.name)
            for index in 0..<endpoint.requests {
                stats.record(status: index < endpoint.failing ? 503 : 200, microseconds: endpoint.microseconds)
            }
            return stats
        }
        report.phases = [
            PhaseReport(
                name: phase, executor: "closed", startedAt: Date(), durationSeconds: seconds, users: 10,
                endpoints: stats, timeline: [])
        ]
        return report
    }

    @Test("the faster side is better; fewer failures decide first; a clear margin is needed; each change in percent")
    func sideBySide() throws {
        let cached = Self.run(endpoints: [("browse", 5_000, 2_000, 0), ("book", 1_000, 9_000, 0)])
        let uncached = Self.run(endpoints: [("browse", 2_000, 20_000, 0), ("book", 1_000, 9_200, 50)])
        let comparison = RunComparison(cached, uncached, names: ("cached", "uncached"))
        #expect(comparison.rows.map(\.endpoint) == ["book", "browse", "overall"])
        let browse = try #require(comparison.rows.first { $0.endpoint == "browse" })
        #expect(browse.better == .a && browse.a?.rps == 500 && browse.b?.rps == 200)
        // Within 5 % on p95, but 5 % of the uncached side's bookings failed: failures decide.
        let book = try #require(comparison.rows.first { $0.endpoint == "book" })
        #expect(book.better == .a)
        #expect(RunComparison(cached, cached, names: ("a", "b")).rows.allSatisfy { $0.better == nil })
        let (header, rows) = comparison.table
        #expect(header.first == "phase" && header.last == "better" && header.contains("p95 uncached"))
        let browseRow = try #require(rows.first { $0[1] == "browse" })
        #expect(browseRow[2] == "500.0/s" && browseRow[3] == "200.0/s" && browseRow[4] == "-60.0%")
        #expect(browseRow.last == "cached")
        let csv = CSVReport.comparison(comparison)
        #expect(csv.name == "compare.csv")
        #expect(csv.text.contains("load,browse,500,200,0,0,"), "\(csv.text)")
        let page = HTMLReport.comparison(comparison)
        #expect(page.contains("<title>Turnstile: cached against uncached</title>") && page.contains("<td>browse</td>"))
    }

    @Test("an endpoint or phase only one run has shows a dash on the other side, and no better side")
    func oneSided() throws {
        let a = Self.run(endpoints: [("browse", 100, 1_000, 0)])
        let b = Self.run(endpoints: [("browse", 100, 1_000, 0), ("search", 100, 1_000, 0)])
        let search = try #require(RunComparison(a, b, names: ("a", "b")).rows.first { $0.endpoint == "search" })
        #expect(search.a == nil && search.b != nil && search.better == nil)
        let row = try #require(RunComparison(a, b, names: ("a", "b")).table.rows.first { $0[1] == "search" })
        #expect(row[2] == "—" && row[4] == "—" && row.last == "—")
    }

    @Test("results of different tests are told apart: another suite, or no phase in common")
    func mismatch() {
        let race = Self.run("race", phase: "race 100→10", endpoints: [("book", 100, 1_000, 0)])
        let mixed = Self.run("mixed", endpoints: [("book", 100, 1_000, 0)])
        #expect(RunComparison.mismatch(race, mixed) == "one is a run of 'race', the other of 'mixed'")
        let otherPhase = Self.run("race", phase: "race 50→5", endpoints: [("book", 100, 1_000, 0)])
        #expect(RunComparison.mismatch(race, otherPhase) == "they have no phase in common")
        #expect(RunComparison.mismatch(race, race) == nil)
    }
}
