import Foundation
import Testing
import TurnstileReport

/// The HTML report: one self-contained page, the verdict and invariants first, charts drawn as SVG from the data.
@Suite("HTML report")
struct HTMLReportTests {
    static func report() -> RunReport {
        var report = CSVReportTests.report()
        report.thresholds = [ThresholdResult(threshold: "book:p99<1s", phase: "race 12→3", actual: "9ms", passed: true)]
        report.notes = ["a <note> & more"]
        var late = PhaseReport.Second(second: 2)
        late.endpoints["book"] = CSVReportTests.counts(requests: 1, failures: 0, statuses: ["201": 1])
        late.total = late.endpoints["book"]!
        report.phases[0].timeline.append(late)
        report.phases[0].durationSeconds = 3
        // A partial fourth second, left out of the charts.
        var partial = PhaseReport.Second(second: 3)
        partial.requests = 1
        report.phases[0].timeline.append(partial)
        return report
    }

    @Test("every section is there, in order: verdict, invariants, thresholds, phases, notes")
    func sections() {
        let html = HTMLReport.render(Self.report(), command: "turnstile stress race --users 12")
        let order = [
            "<header class=\"fail\" data-requests=\"13\"><h1>FAIL · race</h1>", "exit 2", "invariant broken",
            "<code>turnstile stress race --users 12</code>", "<section id=\"invariants\">", "1 of 2 held",
            "seats stored ≤ capacity, seats left ≥ 0", "<section id=\"thresholds\">", "book:p99&lt;1s",
            "<section class=\"phase\" id=\"phase-0\"><h2>race 12→3</h2>", "requests per second by endpoint",
            "failures per second by endpoint", "latency over time", "p95 by endpoint", "status codes per second",
            "latency by percentile", "a &lt;note&gt; &amp; more",
        ]
        var rest = Substring(html)
        for part in order {
            guard let range = rest.range(of: part) else {
                Issue.record("missing or out of order: \(part)")
                return
            }
            rest = rest[range.upperBound...]
        }
    }

    @Test("self-contained: nothing is fetched from elsewhere; one inline script only counts what drew")
    func selfContained() {
        let html = HTMLReport.render(Self.report())
        for reference in ["src=", "href=", "url(", "@import", "<link", "https://", "EventSource"] {
            #expect(!html.contains(reference), "\(reference)")
        }
        #expect(html.components(separatedBy: "<script>").count == 2 && html.contains("countDrawn()"))
        // The target's address is text on the page, not a link.
        #expect(html.components(separatedBy: "http://").count == 2)
    }

    @Test("the charts are drawn from the data: one point per second, one line per endpoint or status")
    func charts() {
        let html = HTMLReport.render(Self.report())
        #expect(html.components(separatedBy: "<svg").count - 1 == 6)
        // Three whole seconds for each endpoint's requests, failures and p95 (two endpoints) and for each of the five
        // statuses and errors; two measured seconds for p50, p95 and p99; and the percentile plot's 41 points for
        // the one measured endpoint.
        #expect(html.components(separatedBy: "data-points=\"3\"").count - 1 == 11)
        for status in ["201", "409", "500", "connect", "timeout"] { #expect(html.contains("■ \(status)</span>")) }
        #expect(html.components(separatedBy: "data-points=\"2\"").count - 1 == 3)
        #expect(html.components(separatedBy: "data-points=\"41\"").count - 1 == 1)
        #expect(!html.contains("NaN") && !html.contains("inf"))
    }
}
