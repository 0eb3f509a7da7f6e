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

/// What the report shows for particular suites: a fault's windows, a ramp's breaking point, a phase's findings.
@Suite("HTML report of particular suites")
struct HTMLSuiteReportTests {
    /// A closed phase of `users` over `seconds` whole seconds, `rate` requests a second, each answered 200 in 2 ms
    /// (503 in the seconds of `failing`).
    static func phase(
        _ name: String, users: Int, seconds: Int, rate: UInt64, failing: Range<Int> = 0..<0, start: Date = Date()
    ) -> PhaseReport {
        var stats = EndpointStats(name: "book")
        var timeline: [PhaseReport.Second] = []
        for index in 0..<seconds {
            var second = PhaseReport.Second(second: index)
            for _ in 0..<rate {
                let status = failing.contains(index) ? 503 : 200
                stats.record(status: status, microseconds: 2_000)
                second.endpoints["book", default: .init()].record(
                    status: String(status), microseconds: 2_000, expected: status == 200)
            }
            second.addUpEndpoints()
            timeline.append(second)
        }
        return PhaseReport(
            name: name, executor: "closed", startedAt: start, durationSeconds: Double(seconds), users: users,
            endpoints: [stats], timeline: timeline)
    }

    @Test("a fault's window shades the phase's charts, with its seconds before, during and after side by side")
    func windows() {
        var report = RunReport(suite: "faults", target: "http://127.0.0.1:8080")
        var faults = Self.phase("faults", users: 4, seconds: 9, rate: 10, failing: 3..<6)
        faults.windows = [PhaseReport.Window(name: "db outage at 3s for 3s", from: 3, to: 6)]
        faults.facts = ["a <finding>"]
        report.phases = [faults]
        let html = HTMLReport.render(report)
        // Every chart over the phase's seconds shades the window, named in its tooltip.
        // Requests and failures, latency, status codes: three charts, three shaded windows.
        #expect(html.components(separatedBy: "<title>db outage at 3s for 3s</title>").count - 1 == 3)
        for row in [
            "<td>before</td><td>0.0–3.0 s</td><td>30</td><td>0.00%</td>",
            "<td>during</td><td>3.0–6.0 s</td><td>30</td><td>100.00%</td>",
            "<td>after</td><td>6.0–9.0 s</td><td>30</td><td>0.00%</td>",
        ] {
            #expect(html.contains(row), "\(row)")
        }
        #expect(html.contains("<li>a &lt;finding&gt;</li>"))
    }

    @Test("phases at a glance, and for a ramp its throughput and p99 by users with the breaking stage shaded")
    func ramp() {
        var report = RunReport(suite: "stress", target: "http://127.0.0.1:8080")
        report.phases = [(2, 100), (4, 180), (8, 200)].map { users, rate in
            Self.phase("stress \(users) users", users: users, seconds: 2, rate: UInt64(rate))
        }
        report.phases[2].warnings = ["breaking point: p99 9ms > 5ms"]
        let html = HTMLReport.render(report)
        #expect(html.contains("<section id=\"phases\"><h2>Phases at a glance</h2>"))
        #expect(html.contains("<td>stress 8 users</td><td>closed</td><td>8</td>"))
        #expect(html.contains("throughput by users") && html.contains("p99 by users"))
        #expect(html.components(separatedBy: "<title>breaking point: p99 9ms &gt; 5ms</title>").count - 1 == 2)
        // Not a ramp: users that do not grow.
        report.phases[2].users = 3
        #expect(!HTMLReport.render(report).contains("throughput by users"))
    }
}
