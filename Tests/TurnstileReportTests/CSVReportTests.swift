import Foundation
import SwiftCSV
import Testing
import TurnstileReport

/// The CSV files of a run: each parses (here with SwiftCSV, as a spreadsheet would), and its totals are the JSON's.
@Suite("CSV report")
struct CSVReportTests {
    static func report() -> RunReport {
        var report = RunReport(suite: "race", target: "http://127.0.0.1:8080")
        var book = EndpointStats(name: "book", expected: .success(and: 409))
        for index in 0..<10 { book.record(status: index < 3 ? 201 : 409, microseconds: UInt64(1_000 + index * 100)) }
        book.record(status: 500, microseconds: 9_000)
        book.record(error: .timeout)
        var quiet = EndpointStats(name: "GET /a,b")
        quiet.record(error: .connect)
        var second = PhaseReport.Second(second: 0)
        second.endpoints["book"] = counts(requests: 12, failures: 2, statuses: ["201": 3, "409": 7, "500": 1])
        second.endpoints["book"]!.errors = ["timeout": 1]
        second.endpoints["GET /a,b"] = counts(requests: 1, failures: 1, statuses: [:])
        second.endpoints["GET /a,b"]!.errors = ["connect": 1]
        second.total = second.endpoints.values.reduce(into: PhaseReport.Second.Counts()) { $0.add($1) }
        report.phases = [
            PhaseReport(
                name: "race 12→3", executor: "barrier", startedAt: Date(), durationSeconds: 0.5, users: 12,
                endpoints: [book, quiet], timeline: [second, PhaseReport.Second(second: 1)])
        ]
        report.invariants = [
            InvariantResult(
                phase: "race 12→3", rule: "seats stored ≤ capacity, seats left ≥ 0", expected: "≤ 3, ≥ 0",
                actual: "3, 0", passed: true),
            InvariantResult(
                phase: "race 12→3", rule: #"every answer is a "201" or a 409"#, expected: "0", actual: "1",
                passed: false),
        ]
        return report
    }

    /// One endpoint's second: `requests` of which `failures` failed, answered with `statuses` in 1.5 ms each.
    static func counts(requests: UInt64, failures: UInt64, statuses: [String: UInt64]) -> PhaseReport.Second.Counts {
        var counts = PhaseReport.Second.Counts()
        counts.requests = requests
        counts.failures = failures
        counts.statuses = statuses
        for _ in 0..<statuses.values.reduce(0, +) { counts.latency.record(microseconds: 1_500) }
        return counts
    }

    func parse(_ name: String, of report: RunReport) throws -> NamedCSV {
        let file = try #require(CSVReport.files(for: report).first { $0.name == name })
        #expect(file.text.hasSuffix("\r\n"))
        return try NamedCSV(string: file.text)
    }

    @Test("stats.csv: a row per endpoint and an overall row; totals as in the JSON; unmeasured latency empty")
    func stats() throws {
        let report = Self.report()
        let csv = try parse("stats.csv", of: report)
        #expect(csv.header.prefix(4) == ["phase", "endpoint", "requests", "responses"])
        #expect(csv.rows.map { $0["endpoint"] } == ["GET /a,b", "book", "overall"])
        let decoded = try JSONReport.decode(JSONReport.encode(report))
        let overall = decoded.phases[0].overall
        let row = try #require(csv.rows.last)
        #expect(row["requests"] == String(overall.requests) && row["failures"] == String(overall.failures))
        #expect(
            csv.rows.dropLast().compactMap { Int($0["requests"] ?? "") }.reduce(0, +) == Int(overall.requests))
        #expect(row["statuses"] == "201:3 409:7 500:1" && row["errors"] == "connect:1 timeout:1")
        #expect(row["rps"] == "26", "13 requests in 0.5 s")
        let quiet = try #require(csv.rows.first)
        #expect(quiet["p50_us"] == "" && quiet["max_us"] == "", "a latency that was not measured is not 0")
        let book = report.phases[0].endpoints[1].summary(durationSeconds: 0.5).latencyMicroseconds
        #expect(csv.rows[1]["min_us"] == "1000" && csv.rows[1]["max_us"].flatMap(Double.init) == book["max"])
        #expect(csv.rows[1]["p99_us"].flatMap(Double.init) == book["p99"])
    }

    @Test("history.csv: a row per second and endpoint, quiet seconds included; invariants.csv keeps commas, quotes")
    func historyAndInvariants() throws {
        let report = Self.report()
        let history = try parse("history.csv", of: report)
        #expect(history.rows.map { $0["second"] } == ["0", "0", "0", "1"])
        #expect(history.rows.map { $0["endpoint"] } == ["all", "GET /a,b", "book", "all"])
        #expect(history.rows[0]["requests"] == "13" && history.rows[0]["failures"] == "3")
        #expect(
            history.rows[0]["statuses"] == "201:3 409:7 500:1" && history.rows[0]["errors"] == "connect:1 timeout:1")
        #expect(history.rows[1]["p50_us"] == "" && history.rows[2]["p50_us"] == "1500")
        #expect(history.rows[3]["requests"] == "0" && history.rows[3]["p99_us"] == "")
        let invariants = try parse("invariants.csv", of: report)
        #expect(invariants.rows.map { $0["rule"] } == report.invariants.map(\.rule))
        #expect(invariants.rows.map { $0["expected"] } == ["≤ 3, ≥ 0", "0"])
        #expect(invariants.rows.map { $0["passed"] } == ["true", "false"])
    }
}

/// The target's resources beside the load: the memory finding, and the CSV and HTML they make.
@Suite("Resource timeline")
struct ResourceTimelineTests {
    static func timeline(memory: [UInt64], start: Date) -> ResourceTimeline {
        var timeline = ResourceTimeline(sources: ["process 7 (turnstile)"])
        for (index, megabytes) in memory.enumerated() {
            var sample = ResourceTimeline.Sample(at: start.addingTimeInterval(Double(index + 1)))
            sample.residentBytes = megabytes << 20
            sample.cpuPercent = index == 0 ? nil : 50
            sample.threads = 12
            sample.openFiles = 30
            sample.metrics = ["turnstile_connections_open": Double(index)]
            timeline.samples.append(sample)
        }
        return timeline
    }

    @Test("memory that grows through the run and stays up is flagged; a rise that comes back down is not")
    func memoryGrowth() {
        let start = Date()
        let growth = Self.timeline(memory: [100, 140, 180, 220, 230], start: start).memoryGrowth
        #expect(
            growth == "resident memory of process 7 (turnstile) grew from 100.0 MiB to 230.0 MiB through the run "
                + "(peak 230.0 MiB) and did not come back down")
        #expect(Self.timeline(memory: [100, 180, 260, 120, 110], start: start).memoryGrowth == nil, "came back down")
        #expect(Self.timeline(memory: [100, 104, 108, 112, 116], start: start).memoryGrowth == nil, "under 32 MiB")
        #expect(Self.timeline(memory: [100, 300, 300], start: start).memoryGrowth == nil, "too few samples")
    }

    @Test("resources.csv has a row per sample, empty cells for what was not sampled; the HTML charts them")
    func csvAndHTML() throws {
        var report = CSVReportTests.report()
        report.resources = Self.timeline(memory: [100, 110, 120], start: report.startedAt)
        let file = try #require(CSVReport.files(for: report).first { $0.name == "resources.csv" })
        let csv = try NamedCSV(string: file.text)
        #expect(
            csv.header == [
                "second", "cpu_percent", "resident_bytes", "open_files", "threads", "turnstile_connections_open",
            ])
        #expect(csv.rows.map { $0["second"] } == ["1", "2", "3"] && csv.rows[0]["cpu_percent"] == "")
        #expect(csv.rows[2]["resident_bytes"] == String(120 << 20) && csv.rows[2]["turnstile_connections_open"] == "2")
        let decoded = try JSONReport.decode(JSONReport.encode(report))
        // Times survive to the JSON's precision; everything else exactly.
        let (read, written) = (try #require(decoded.resources), try #require(report.resources))
        #expect(read.sources == written.sources && read.samples.map(\.metrics) == written.samples.map(\.metrics))
        #expect(read.samples.map(\.residentBytes) == written.samples.map(\.residentBytes))
        #expect(read.samples.map(\.cpuPercent) == written.samples.map(\.cpuPercent))
        let html = HTMLReport.render(report)
        for title in ["Target resources", "CPU (% of one core)", "resident memory (MiB)", "turnstile_connections_open"]
        {
            #expect(html.contains(title), "\(title)")
        }
        #expect(!CSVReport.files(for: CSVReportTests.report()).contains { $0.name == "resources.csv" })
    }
}
