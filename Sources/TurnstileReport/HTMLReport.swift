import Foundation

/// A run as one self-contained HTML page: the verdict, the invariants (what the tool is for) and thresholds first,
/// then each phase's table and charts. The charts are SVG drawn here, in Swift: the page needs no script, no
/// stylesheet, font or library from elsewhere, and reads the same in any browser, printed, or with scripts off.
///
/// One small inline script counts the chart lines the browser laid out into `data-drawn-lines` and
/// `data-drawn-points` on the body, for tests (and anyone curious) to check that the charts drew. The live dashboard
/// page adds another that takes each update from the server's event stream.
public enum HTMLReport {
    /// How a live page (the dashboard's) shows the run: under way, or over with downloads offered.
    public struct Live: Sendable {
        /// Whether `report` is the run's final report.
        public var isFinal: Bool
        /// Seconds since the run started.
        public var elapsedSeconds: Double

        public init(isFinal: Bool, elapsedSeconds: Double) {
            self.isFinal = isFinal
            self.elapsedSeconds = elapsedSeconds
        }
    }

    /// The page for `report`; `command` is the command line that ran it, when known. A `live` page takes updates
    /// from `events` (Server-Sent Events, relative to the page) until the final report comes.
    public static func render(_ report: RunReport, command: String? = nil, live: Live? = nil) -> String {
        let title = live.map { $0.isFinal ? "" : "RUNNING" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Turnstile: \(escape(report.suite)) — \(title.isEmpty ? verdict(report.outcome == .passed) : title)</title>
            <style>\(style)</style></head><body>
            <main id="report">\(content(report, command: command, live: live))</main>
            <script>\(countDrawn)\(live == nil ? "" : follow)</script>
            </body></html>

            """
    }

    /// A page of two runs side by side (`turnstile report compare`): the comparison's table, self-contained.
    public static func comparison(_ comparison: RunComparison) -> String {
        var page = Page()
        page.raw(
            "<header><h1>\(escape(comparison.names.a)) against \(escape(comparison.names.b))</h1><p class=\"quiet\">"
                + "Each phase and endpoint of both runs: requests per second, failures and latency, the change from "
                + "the first to the second, and which did better (fewer failures, then a lower p95, then more "
                + "requests per second, each by a clear margin).</p></header>")
        let (header, rows) = comparison.table
        page.raw("<section id=\"comparison\">")
        table(header, rows, into: &page)
        page.raw("</section>")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Turnstile: \(escape(comparison.names.a)) against \(escape(comparison.names.b))</title>
            <style>\(style)</style></head><body>
            <main id="report">\(page.text)</main>
            </body></html>

            """
    }

    /// The page's content, without the document around it: what the dashboard sends with each update.
    public static func content(_ report: RunReport, command: String? = nil, live: Live? = nil) -> String {
        var page = Page()
        if let live, !live.isFinal {
            runningBanner(report, command: command, live: live, into: &page)
        } else {
            banner(report, command: command, into: &page)
            if live != nil {
                page.raw(
                    "<p class=\"downloads\">The run is over. Download the <a href=\"report.html\" download>HTML "
                        + "report</a> or the <a href=\"report.json\" download>JSON result</a>.</p>")
            }
        }
        invariants(report, judged: live?.isFinal ?? true, into: &page)
        thresholds(report, into: &page)
        feeds(report, into: &page)
        badInputs(report, into: &page)
        if let resources = report.resources { self.resources(resources, of: report, into: &page) }
        glance(report, into: &page)
        for (index, phase) in report.phases.enumerated() {
            self.phase(phase, index: index, faults: report.faults.filter { $0.phase == phase.name }, into: &page)
        }
        if !report.notes.isEmpty {
            page.raw("<section><h2>Notes</h2><ul>")
            for note in report.notes { page.raw("<li>\(escape(note))</li>") }
            page.raw("</ul></section>")
        }
        page.raw(
            "<footer>Turnstile report · run \(escape(report.runID)) · "
                + "made \(escape(ISO8601DateFormatter().string(from: Date())))</footer>")
        return page.text
    }

    /// Counts the chart lines the browser laid out (a bounding box with some extent) and their points.
    private static let countDrawn = """
        function countDrawn(){var lines=0,points=0;document.querySelectorAll("svg polyline").forEach(function(l){\
        var b=l.getBBox();if(b.width>0||b.height>0){lines++;points+=Number(l.dataset.points)}});\
        document.body.dataset.drawnLines=lines;document.body.dataset.drawnPoints=points}countDrawn();
        """

    /// Replaces the content with each `report` event, and stops at the `final` one. Keeps the total request counts
    /// it has shown in `data-requests-seen`.
    private static let follow = """
        (function(){if(!window.EventSource)return;var updates=0,seen=[],source=new EventSource("events");\
        function show(event){document.getElementById("report").innerHTML=event.data;updates++;\
        var header=document.querySelector("header[data-requests]");if(header)seen.push(header.dataset.requests);\
        document.body.dataset.updates=updates;document.body.dataset.requestsSeen=seen.join(" ");countDrawn()}\
        source.addEventListener("report",show);\
        source.addEventListener("final",function(event){show(event);source.close()})})();
        """

    // MARK: Sections

    private static func banner(_ report: RunReport, command: String?, into page: inout Page) {
        let passed = report.outcome == .passed
        page.raw(
            """
            <header class="\(passed ? "pass" : "fail")" data-requests="\(requests(report))"><h1>\(passed ? "PASS" : "FAIL") · \(escape(report.suite))</h1>
            <p class="verdict">exit \(report.outcome.rawValue)
            """)
        if !report.reasons.isEmpty {
            page.raw(": " + report.reasons.map(escape).joined(separator: "; "))
        }
        page.raw("</p><dl>")
        let duration = report.phases.map(\.durationSeconds).reduce(0, +)
        for (term, value) in [
            ("target", report.target), ("command", command ?? ""),
            ("started", ISO8601DateFormatter().string(from: report.startedAt)),
            ("measured", Format.fixed(duration, digits: 2) + " s in \(report.phases.count) phases"),
        ] where !value.isEmpty {
            page.raw("<dt>\(term)</dt><dd><code>\(escape(value))</code></dd>")
        }
        page.raw("</dl></header>")
    }

    /// The banner of a run under way: what it has done so far, no verdict yet.
    private static func runningBanner(_ report: RunReport, command: String?, live: Live, into page: inout Page) {
        let current = report.phases.last.map { " · " + escape($0.name) } ?? ""
        page.raw(
            """
            <header class="running" data-requests="\(requests(report))"><h1>RUNNING · \(escape(report.suite))\(current)</h1>
            <p class="verdict">\(Format.fixed(live.elapsedSeconds, digits: 0)) s so far, \(requests(report)) requests in \
            \(report.phases.count) phases; the invariants and thresholds are judged when the run ends.</p><dl>
            """)
        for (term, value) in [("target", report.target), ("command", command ?? "")] where !value.isEmpty {
            page.raw("<dt>\(term)</dt><dd><code>\(escape(value))</code></dd>")
        }
        page.raw("</dl></header>")
    }

    /// Every request of every phase.
    private static func requests(_ report: RunReport) -> UInt64 {
        report.phases.map { $0.overall.requests }.reduce(0, +)
    }

    private static func invariants(_ report: RunReport, judged: Bool, into page: inout Page) {
        page.raw("<section id=\"invariants\"><h2>Invariants</h2>")
        guard !report.invariants.isEmpty else {
            let why = judged ? "This run checks no invariants." : "They are judged when the run ends."
            page.raw("<p class=\"quiet\">\(why)</p></section>")
            return
        }
        let broken = report.invariants.filter { !$0.passed }.count
        page.raw(
            "<p>\(report.invariants.count - broken) of \(report.invariants.count) held"
                + (broken > 0 ? ", <strong class=\"bad\">\(broken) broken</strong>" : "") + ".</p>")
        let header = ["", "phase", "rule", "expected", "actual"]
        func rows(_ invariants: [InvariantResult]) -> [[String]] {
            invariants.map { [verdict($0.passed), $0.phase, $0.rule, $0.expected, $0.actual] }
        }
        guard report.invariants.count > invariantsListedMax else {
            table(header, rows(report.invariants), into: &page)
            page.raw("</section>")
            return
        }
        // Many rules: the broken ones, then a line per phase, and every rule one click away.
        if broken > 0 { table(header, rows(report.invariants.filter { !$0.passed }), into: &page) }
        var phases: [String] = []
        for invariant in report.invariants where !phases.contains(invariant.phase) { phases.append(invariant.phase) }
        table(
            ["", "phase", "held", "broken"],
            phases.map { phase in
                let all = report.invariants.filter { $0.phase == phase }
                let held = all.filter(\.passed).count
                return [verdict(held == all.count), phase, "\(held) of \(all.count)", String(all.count - held)]
            }, into: &page)
        page.raw("<details><summary>every rule (\(report.invariants.count))</summary>")
        table(header, rows(report.invariants), into: &page)
        page.raw("</details></section>")
    }

    /// Invariants listed one by one on the page; a run with more shows them by phase, each rule one click away.
    private static let invariantsListedMax = 20

    private static func thresholds(_ report: RunReport, into page: inout Page) {
        guard !report.thresholds.isEmpty else { return }
        page.raw("<section id=\"thresholds\"><h2>Thresholds</h2>")
        table(
            ["", "phase", "threshold", "actual"],
            report.thresholds.map { [verdict($0.passed), $0.phase, $0.threshold, $0.actual] }, into: &page)
        page.raw("</section>")
    }

    /// Every bad input sent, failures first.
    private static func badInputs(_ report: RunReport, into page: inout Page) {
        guard !report.badInputs.isEmpty else { return }
        let failed = report.badInputs.filter(\.verdict.isFailure).count
        page.raw("<section id=\"bad-inputs\"><h2>Bad inputs</h2><p class=\"quiet\">")
        page.raw(
            "\(report.badInputs.count) generated from the scenario's requests; \(failed) failed (a 5xx, no answer, or "
                + "a target that stopped answering). A 4xx is a refusal, as it should be; an accepted one is listed, "
                + "not failed.")
        page.raw("</p>")
        let ordered = report.badInputs.filter(\.verdict.isFailure) + report.badInputs.filter { !$0.verdict.isFailure }
        table(
            ["", "phase", "request", "input", "verdict", "status", "answer"],
            ordered.map {
                [
                    verdict(!$0.verdict.isFailure), $0.phase, $0.request, $0.input, $0.verdict.rawValue,
                    $0.status.map(String.init) ?? "—", String($0.detail.prefix(200)),
                ]
            }, into: &page)
        page.raw("</section>")
    }

    /// What each group of live-feed subscribers received.
    private static func feeds(_ report: RunReport, into page: inout Page) {
        guard !report.feeds.isEmpty else { return }
        page.raw("<section id=\"feeds\"><h2>Live feeds</h2>")
        func milliseconds(_ histogram: LatencyHistogram, _ percentile: Double) -> String {
            histogram.isEmpty ? "—" : Format.microseconds(histogram.percentile(percentile))
        }
        table(
            [
                "feed", "subscribers", "events", "delivered", "delivery ratio", "p50", "p95", "p99", "out of order",
                "stray", "dropped", "connect p99",
            ],
            report.feeds.map { feed in
                [
                    "\(feed.name) (\(feed.kind))", "\(feed.connected) of \(feed.subscribers)", "\(feed.events)",
                    "\(feed.delivered) of \(feed.expected)",
                    feed.deliveryRatio.map { Format.percent($0 * 100) } ?? "—",
                    milliseconds(feed.latency, 50), milliseconds(feed.latency, 95), milliseconds(feed.latency, 99),
                    "\(feed.outOfOrder)", "\(feed.stray)", "\(feed.dropped)", milliseconds(feed.connectLatency, 99),
                ]
            }, into: &page)
        page.raw(
            "<p class=\"quiet\">Latency runs from sending the request that caused each event to each subscriber's "
                + "receipt of it.</p></section>")
    }

    private static func phase(_ phase: PhaseReport, index: Int, faults: [FaultReport], into page: inout Page) {
        page.raw("<section class=\"phase\" id=\"phase-\(index)\"><h2>\(escape(phase.name))</h2><p class=\"quiet\">")
        var facts = [
            phase.executor, "\(phase.users) users", Format.fixed(phase.durationSeconds, digits: 2) + " s",
        ]
        if let release = phase.releaseSummary { facts.append(release) }
        if let late = phase.lateStarts { facts.append("\(late) late starts") }
        if let dropped = phase.droppedStarts { facts.append("\(dropped) arrivals dropped") }
        if let setup = phase.connectionSetup { facts.append(setup) }
        page.raw(facts.map(escape).joined(separator: " · ") + "</p>")
        for warning in phase.warnings { page.raw("<p class=\"warning\">\(escape(warning))</p>") }
        if !phase.facts.isEmpty {
            page.raw("<ul class=\"facts\">" + phase.facts.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        endpointTable(phase, into: &page)
        if faults.isEmpty {
            windowTable(phase, into: &page)
        } else {
            for fault in faults { faultTable(fault, into: &page) }
        }
        let plotted = phase.endpoints.filter { $0.latency.count > 0 }
        page.raw("<div class=\"charts\">" + timeCharts(phase).joined())
        if !plotted.isEmpty { page.raw(percentilePlot(plotted)) }
        page.raw("</div></section>")
    }

    /// The phase over time: requests and failures per second (by endpoint when there are several), latency
    /// percentiles (and each endpoint's p95), and status codes per second. Nothing for a phase under two seconds.
    static func timeCharts(_ phase: PhaseReport) -> [String] {
        // Whole seconds only: a phase's last second is usually a fraction of one, and its count would read as a drop.
        let timeline = phase.timeline.filter { Double($0.second + 1) <= phase.durationSeconds + 0.01 }
        guard timeline.count >= 2 else { return [] }
        let seconds = timeline.map { Double($0.second) }
        let names = phase.endpoints.map(\.name)
        func perEndpoint(_ value: (PhaseReport.Second.Counts) -> Double) -> [Series] {
            names.enumerated().map { index, name in
                (name, timeline.map { $0.endpoints[name].map(value) ?? 0 }, colour(index))
            }
        }
        // A phase's windows (a fault switched on) shade every chart of its seconds.
        let bands = phase.windows.map { (from: $0.from, to: $0.to, label: $0.name) }
        let span = 0...Double(timeline.count - 1)
        func timeChart(_ title: String, _ series: [Series], yLabel: String, x: [Double] = seconds) -> String {
            chart(title: title, x: x, series: series, xLabel: "second", yLabel: yLabel, xRange: span, bands: bands)
        }
        var charts: [String] = []
        if names.count > 1 {
            charts.append(
                timeChart("requests per second by endpoint", perEndpoint { Double($0.requests) }, yLabel: "per second"))
            if timeline.contains(where: { $0.failures > 0 }) {
                charts.append(
                    timeChart(
                        "failures per second by endpoint", perEndpoint { Double($0.failures) }, yLabel: "per second"))
            }
        } else {
            charts.append(
                timeChart(
                    "requests and failures per second",
                    [
                        ("requests/s", timeline.map { Double($0.requests) }, colour(0)),
                        ("failures/s", timeline.map { Double($0.failures) }, "#dc2626"),
                    ], yLabel: "per second"))
        }
        let measured = timeline.filter { $0.latency.count > 0 }
        if measured.count >= 2 {
            charts.append(
                timeChart(
                    "latency over time",
                    [(50.0, "#16a34a"), (95, "#d97706"), (99, "#dc2626")].map { percentile, colour in
                        (
                            "p\(Format.fixed(percentile, digits: 0))",
                            measured.map { Double($0.latency.percentile(percentile)) / 1000 }, colour
                        )
                    }, yLabel: "ms", x: measured.map { Double($0.second) }))
            if names.count > 1 {
                charts.append(
                    timeChart(
                        "p95 by endpoint",
                        perEndpoint { $0.latency.isEmpty ? 0 : Double($0.latency.percentile(95)) / 1000 },
                        yLabel: "ms"))
            }
        }
        // Status codes, then errors by kind: each a line, in its own colour.
        let keys =
            Set(timeline.flatMap { $0.total.statuses.keys }).sorted()
            + Set(timeline.flatMap { $0.total.errors.keys }).sorted()
        if !keys.isEmpty {
            charts.append(
                timeChart(
                    "status codes per second",
                    keys.map { key in
                        (
                            key,
                            timeline.map { Double($0.total.statuses[key] ?? $0.total.errors[key] ?? 0) },
                            statusColour(key)
                        )
                    }, yLabel: "per second"))
        }
        return charts
    }

    /// A fault of the phase: what it did and when, how the target recovered, its windows endpoint by endpoint (the
    /// console's table), and what it ran.
    private static func faultTable(_ fault: FaultReport, into page: inout Page) {
        page.raw("<h3 class=\"fault\">\(escape(ConsoleRenderer.faultTitle(fault)))</h3>")
        let rows = ConsoleRenderer.faultRows(fault)
        if !rows.isEmpty { table(ConsoleRenderer.faultHeader, rows, into: &page) }
        if !fault.log.isEmpty {
            page.raw("<ul class=\"facts\">" + fault.log.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
    }

    /// For each window of the phase (without the scenario's fault reports: results written before they existed),
    /// its seconds before, during and after (as long as the window, at least one
    /// each): requests, failures and latency, side by side.
    private static func windowTable(_ phase: PhaseReport, into page: inout Page) {
        guard !phase.windows.isEmpty else { return }
        var rows: [[String]] = []
        for window in phase.windows {
            let length = max(1, window.to - window.from)
            for (name, from, to) in [
                ("before", window.from - length, window.from), ("during", window.from, window.to),
                ("after", window.to, window.to + length),
            ] {
                let seconds = phase.timeline.filter {
                    Double($0.second) >= from.rounded(.down) && Double($0.second) < to.rounded(.up)
                }
                var counts = PhaseReport.Second.Counts()
                for second in seconds { counts.add(second.total) }
                let failed = counts.requests == 0 ? 0 : Double(counts.failures) * 100 / Double(counts.requests)
                let latency = { (percentile: Double) in
                    counts.latency.isEmpty ? "—" : Format.microseconds(counts.latency.percentile(percentile))
                }
                rows.append(
                    [
                        window.name, name, "\(Format.fixed(max(0, from), digits: 1))–\(Format.fixed(to, digits: 1)) s",
                        String(counts.requests), Format.percent(failed), latency(50), latency(99),
                        ConsoleRenderer.tally(statuses: counts.statuses, errors: counts.errors),
                    ])
            }
        }
        table(["window", "", "seconds", "requests", "fail", "p50", "p99", "statuses and errors"], rows, into: &page)
    }

    /// The phases side by side, one row each: for comparing stages of a ramp, the cache on and off, a grid of races.
    private static func glance(_ report: RunReport, into page: inout Page) {
        guard report.phases.count >= 2 else { return }
        page.raw("<section id=\"phases\"><h2>Phases at a glance</h2>")
        let spreads = report.phases.contains { $0.releaseSpreadMicroseconds != nil }
        let rows = report.phases.enumerated().map { index, phase -> [String] in
            let overall = phase.overall
            let latency = { (percentile: Double) in
                overall.latency.isEmpty ? "—" : Format.microseconds(overall.latency.percentile(percentile))
            }
            return [
                phase.name, phase.executor, String(phase.users), Format.fixed(phase.durationSeconds, digits: 2),
                String(overall.requests), Format.rate(phase.rate(overall)), Format.percent(overall.failureRatio * 100),
                latency(50), latency(95), latency(99),
            ] + (spreads ? [phase.releaseSpreadMicroseconds.map { Format.microseconds($0) } ?? "—"] : [])
                + [phase.warnings.joined(separator: "; ")]
        }
        table(
            ["phase", "executor", "users", "s", "requests", "rps", "fail", "p50", "p95", "p99"]
                + (spreads ? ["release spread"] : []) + ["warnings"], rows, into: &page)
        page.raw(rampCharts(report.phases) + "</section>")
    }

    /// For a ramp (three or more closed phases, each with more users than the one before): throughput and p99 by
    /// users, the stage with a breaking-point warning shaded.
    static func rampCharts(_ phases: [PhaseReport]) -> String {
        guard phases.count >= 3, phases.allSatisfy({ $0.executor == "closed" }),
            zip(phases, phases.dropFirst()).allSatisfy({ $0.users < $1.users })
        else { return "" }
        let users = phases.map { Double($0.users) }
        let bands = phases.indices.compactMap { index -> (from: Double, to: Double, label: String)? in
            guard let warning = phases[index].warnings.first(where: { $0.hasPrefix("breaking point") }) else {
                return nil
            }
            return (index > 0 ? users[index - 1] : users[index] * 0.9, users[index], warning)
        }
        let throughput = chart(
            title: "throughput by users", x: users,
            series: [("requests/s", phases.map { $0.rate($0.overall) }, colour(0))], xLabel: "users",
            yLabel: "per second", xTickLabels: users.map { ($0, Format.fixed($0, digits: 0)) }, bands: bands)
        let p99 = chart(
            title: "p99 by users", x: users,
            series: [("p99", phases.map { Double($0.overall.latency.percentile(99)) / 1000 }, "#dc2626")],
            xLabel: "users", yLabel: "ms", xTickLabels: users.map { ($0, Format.fixed($0, digits: 0)) }, bands: bands)
        return "<div class=\"charts\">" + throughput + p99 + "</div>"
    }

    /// A status's colour: green for 2xx, blue for 3xx, amber for 4xx, red for 5xx, grey for errors; shades apart.
    private static func statusColour(_ key: String) -> String {
        let shades: [Character: [String]] = [
            "2": ["#16a34a", "#15803d", "#4ade80"], "3": ["#2563eb", "#1d4ed8"],
            "4": ["#d97706", "#b45309", "#f59e0b", "#92400e", "#fbbf24"], "5": ["#dc2626", "#991b1b", "#f87171"],
        ]
        guard let first = key.first, let palette = shades[first], let code = Int(key) else { return "#6b7280" }
        return palette[code % 100 % palette.count]
    }

    typealias Series = (name: String, values: [Double], colour: String)

    private static let palette = [
        "#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
    ]

    static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// The target's resources over the whole run, the phases shaded, beside the load's requests per second.
    private static func resources(_ resources: ResourceTimeline, of report: RunReport, into page: inout Page) {
        page.raw("<section id=\"resources\"><h2>Target resources</h2><p class=\"quiet\">")
        page.raw(
            "Sampled once a second: " + resources.sources.map(escape).joined(separator: "; ")
                + ". The shaded stretches are the phases and the faults (their names show on hover).</p>")
        if let growth = resources.memoryGrowth { page.raw("<p class=\"warning\">\(escape(growth))</p>") }
        let start = report.startedAt
        var bands = report.phases.map { phase in
            let from = phase.startedAt.timeIntervalSince(start)
            return (from: from, to: from + phase.durationSeconds, label: phase.name)
        }
        // Each fault too, where its phase ran: a dependency's CPU and memory read against the moment it was hit.
        for fault in report.faults {
            guard let phase = report.phases.first(where: { $0.name == fault.phase }), let began = fault.began else {
                continue
            }
            let offset = phase.startedAt.timeIntervalSince(start)
            bands.append((from: offset + began, to: offset + (fault.ended ?? began), label: "fault \(fault.name)"))
        }
        let end = max(
            resources.samples.last.map { $0.at.timeIntervalSince(start) } ?? 1, bands.map(\.to).max() ?? 1)
        func runChart(
            _ title: String, _ samples: [(Date, Double)], yLabel: String, colour: String = colour(0)
        )
            -> String?
        {
            guard samples.count >= 2 else { return nil }
            return chart(
                title: title, x: samples.map { $0.0.timeIntervalSince(start) },
                series: [(title, samples.map(\.1), colour)], xLabel: "second of the run", yLabel: yLabel,
                xRange: 0...end, bands: bands)
        }
        // The load on the same axis: each phase's seconds placed where the phase ran.
        let load = report.phases.flatMap { phase in
            phase.timeline.filter { Double($0.second + 1) <= phase.durationSeconds + 0.01 }.map {
                (phase.startedAt.addingTimeInterval(Double($0.second) + 0.5), Double($0.requests))
            }
        }.sorted { $0.0 < $1.0 }
        let samples = resources.samples
        var charts = [
            runChart("load: requests per second", load, yLabel: "per second"),
            runChart(
                "CPU (% of one core)", samples.compactMap { sample in sample.cpuPercent.map { (sample.at, $0) } },
                yLabel: "%", colour: "#dc2626"),
            runChart(
                "resident memory (MiB)",
                samples.compactMap { sample in sample.residentBytes.map { (sample.at, Double($0) / 1_048_576) } },
                yLabel: "MiB", colour: "#7c3aed"),
            runChart(
                "open files", samples.compactMap { sample in sample.openFiles.map { (sample.at, Double($0)) } },
                yLabel: "files", colour: "#0891b2"),
            runChart(
                "threads", samples.compactMap { sample in sample.threads.map { (sample.at, Double($0)) } },
                yLabel: "threads", colour: "#65a30d"),
        ]
        // Every other watched process, its own CPU and memory.
        for (index, label) in resources.otherProcesses.enumerated() {
            charts.append(
                runChart(
                    "CPU of \(label) (%)",
                    samples.compactMap { sample in sample.processes[label]?.cpuPercent.map { (sample.at, $0) } },
                    yLabel: "%", colour: colour(index + 3)))
            charts.append(
                runChart(
                    "resident memory of \(label) (MiB)",
                    samples.compactMap { sample in
                        sample.processes[label]?.residentBytes.map { (sample.at, Double($0) / 1_048_576) }
                    }, yLabel: "MiB", colour: colour(index + 4)))
        }
        for (index, name) in resources.seriesNames.enumerated() {
            charts.append(
                runChart(
                    name, samples.compactMap { sample in sample.metrics[name].map { (sample.at, $0) } },
                    yLabel: "value", colour: colour(index + 4)))
        }
        page.raw("<div class=\"charts\">" + charts.compactMap { $0 }.joined() + "</div></section>")
    }

    private static func endpointTable(_ phase: PhaseReport, into page: inout Page) {
        let rows = phase.endpointsWithOverall.map { stats -> [String] in
            let latency = stats.summary(durationSeconds: phase.durationSeconds).latencyMicroseconds
            return [
                stats.name, String(stats.requests), Format.rate(phase.rate(stats)),
                Format.percent(stats.failureRatio * 100),
            ]
                + ["min", "avg", "p50", "p90", "p95", "p99", "p99.9", "max"].map { name in
                    latency[name].map { Format.microseconds($0) } ?? "—"
                } + [ConsoleRenderer.statuses(stats)]
        }
        table(
            [
                "endpoint", "requests", "rps", "fail", "min", "avg", "p50", "p90", "p95", "p99", "p99.9", "max",
                "statuses and errors",
            ], rows, into: &page)
    }

    // MARK: Charts

    private static let width = 640.0
    private static let height = 240.0
    private static let margin = (left: 56.0, right: 36.0, top: 28.0, bottom: 36.0)

    /// A line chart of several series over the same x values, with axes, ticks and a legend.
    /// `bands` shade stretches of x (the phases, on charts over the whole run), each named in its tooltip.
    static func chart(
        title: String, x: [Double], series: [Series], xLabel: String, yLabel: String,
        xTickLabels: [(Double, String)]? = nil, xRange: ClosedRange<Double>? = nil,
        bands: [(from: Double, to: Double, label: String)] = []
    ) -> String {
        let xMin = xRange?.lowerBound ?? x.min() ?? 0
        let xMax = max(xRange?.upperBound ?? x.max() ?? 1, xMin + 1e-9)
        let yMax = niceCeiling(series.flatMap(\.values).max() ?? 1)
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func px(_ value: Double) -> Double { margin.left + (value - xMin) / (xMax - xMin) * plotWidth }
        func py(_ value: Double) -> Double { margin.top + plotHeight - value / yMax * plotHeight }
        var svg =
            "<figure><svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
            + "<text class=\"title\" x=\"\(margin.left)\" y=\"16\">\(escape(title))</text>"
        for (index, band) in bands.enumerated() {
            let (from, to) = (px(max(band.from, xMin)), px(min(band.to, xMax)))
            svg +=
                "<rect class=\"band\(index % 2)\" x=\"\(f(from))\" y=\"\(margin.top)\" width=\"\(f(max(0, to - from)))\" "
                + "height=\"\(plotHeight)\"><title>\(escape(band.label))</title></rect>"
        }
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            let y = py(value)
            svg +=
                "<line class=\"grid\" x1=\"\(margin.left)\" x2=\"\(width - margin.right)\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>"
                + "<text class=\"tick\" x=\"\(margin.left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">"
                + "\(escape(Format.fixed(value, digits: value != value.rounded() ? 1 : 0)))</text>"
        }
        // Whole seconds: each of them on a short axis, five spread out on a long one, never one label twice.
        let span = xMax - xMin
        let tickValues: [Double] =
            span <= 8
            ? Array(stride(from: xMin.rounded(.up), through: xMax, by: 1))
            : Set((0...4).map { (xMin + span * Double($0) / 4).rounded() }).sorted()
        let ticks = xTickLabels ?? tickValues.map { ($0, Format.fixed($0, digits: 0)) }
        for (value, label) in ticks {
            svg +=
                "<text class=\"tick\" x=\"\(f(px(value)))\" y=\"\(height - margin.bottom + 16)\" "
                + "text-anchor=\"middle\">\(escape(label))</text>"
        }
        svg +=
            "<text class=\"axis\" x=\"\(f(margin.left + plotWidth / 2))\" y=\"\(height - 4)\" text-anchor=\"middle\">"
            + "\(escape(xLabel))</text>"
            + "<text class=\"axis\" x=\"12\" y=\"\(f(margin.top + plotHeight / 2))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 12 \(f(margin.top + plotHeight / 2)))\">\(escape(yLabel))</text>"
        for line in series {
            let points = zip(x, line.values).map { "\(f(px($0))),\(f(py($1)))" }.joined(separator: " ")
            svg +=
                "<polyline class=\"series\" data-points=\"\(line.values.count)\" fill=\"none\" "
                + "stroke=\"\(line.colour)\" stroke-width=\"2\" points=\"\(points)\"/>"
        }
        // The legend under the chart, each name in its line's colour: it wraps however many lines there are.
        let legend = series.map { "<span style=\"color:\($0.colour)\">■ \(escape($0.name))</span>" }.joined(
            separator: " ")
        return svg + "</svg><figcaption>\(legend)</figcaption></figure>"
    }

    /// The latency distribution as HdrHistogram's plotter draws it: latency against percentile, the percentile axis
    /// stretched so that the tail (99 %, 99.9 %, 99.99 %) gets as much room as the body.
    static func percentilePlot(_ endpoints: [EndpointStats]) -> String {
        let percentiles = (0...40).map { 100 - 100 / pow(10, Double($0) / 8) }
        // x: how many nines, log10(1 / (1 − p)).
        let x = percentiles.map { log10(1 / max(1e-9, 1 - $0 / 100)) }
        return chart(
            title: "latency by percentile", x: x,
            series: endpoints.enumerated().map { index, stats in
                (stats.name, percentiles.map { Double(stats.latency.percentile($0)) / 1000 }, colour(index))
            }, xLabel: "percentile", yLabel: "ms",
            xTickLabels: [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")])
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    private static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value } ?? 10 * power
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    // MARK: HTML

    private static func table(_ header: [String], _ rows: [[String]], into page: inout Page) {
        page.raw("<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>")
        for row in rows {
            page.raw(
                "<tr>"
                    + row.map { cell in
                        cell == "PASS" || cell == "FAIL"
                            ? "<td class=\"\(cell == "PASS" ? "good" : "bad")\">\(cell)</td>"
                            : "<td>\(escape(cell))</td>"
                    }.joined() + "</tr>")
        }
        page.raw("</tbody></table>")
    }

    private static func verdict(_ passed: Bool) -> String { passed ? "PASS" : "FAIL" }

    /// Text made safe for HTML.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    private struct Page {
        var text = ""
        mutating func raw(_ html: String) { text += html }
    }

    private static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 32px;color:#111}
        header{margin:16px 0;padding:12px 16px;border-radius:8px}header.pass{background:#dcfce7}header.fail{background:#fee2e2}header.running{background:#dbeafe}
        .downloads{background:#f3f4f6;padding:8px 12px;border-radius:6px}
        h1{margin:0;font-size:24px}h2{font-size:18px;margin:24px 0 8px}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0 0}
        dt{color:#555}dd{margin:0}code{font:12px ui-monospace,monospace;word-break:break-all}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e5e7eb}
        th{background:#f3f4f6}.good{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}.quiet{color:#555}
        .warning{background:#fef3c7;padding:6px 10px;border-radius:6px}.facts{margin:4px 0;padding-left:20px}summary{cursor:pointer;margin:8px 0;color:#2563eb}.charts{display:flex;flex-wrap:wrap;gap:12px}
        figure{margin:8px 0;flex:0 1 calc(50% - 6px);min-width:320px}svg{width:100%;height:auto;border:1px solid #e5e7eb;border-radius:6px}
        .grid{stroke:#e5e7eb}.band0{fill:#eef2ff}.band1{fill:#f5f3ff}.tick,.axis{font-size:11px;fill:#555}figcaption{font-size:12px;font-weight:600;padding:2px 6px}.title{font-size:12px;font-weight:600}
        footer{margin-top:32px;color:#777;font-size:12px}
        """
}
