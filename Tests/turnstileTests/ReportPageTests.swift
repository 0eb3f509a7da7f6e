import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwiftCSV
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileServer
import TurnstileTestSupport

/// The pages people look at: the HTML report opened in a real browser, and the live dashboard during a run.
@Suite("Report pages", .serialized, .timeLimit(.minutes(2)))
struct ReportPageTests {
    @Test(
        "the report of a mixed run opens in a real browser: every chart line draws, and it makes a screenshot",
        .enabled(if: Chromium.testsRun, "chromium is not on the PATH: the browser tests are skipped"))
    func reportInBrowser() async throws {
        let folder = try temporaryFolder("pages")
        defer { try? FileManager.default.removeItem(at: folder) }
        let html = folder.appendingPathComponent("mixed.html")
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "mixed", "--target", "http://127.0.0.1:\(server.port)", "-c", "4", "-d", "3s", "--html",
                html.path,
            ])
        }
        #expect(status == 0, "\(output)")
        let page = try String(contentsOf: html, encoding: .utf8)
        for title in ["requests per second by endpoint", "p95 by endpoint", "status codes per second"] {
            #expect(page.contains(title), "\(title)")
        }
        let lines = page.components(separatedBy: "<polyline").count - 1
        let points = page.matches(of: /data-points="(\d+)"/).map { Int($0.1)! }.reduce(0, +)
        let drawn = Chromium.bodyData(try await Chromium.dumpDOM(html.absoluteString))
        // The browser laid out every line of every chart, each with its points: what the SVG holds is what shows.
        #expect(lines >= 10 && drawn["drawn-lines"] == String(lines), "\(drawn)")
        #expect(drawn["drawn-points"] == String(points), "\(drawn)")
        let screenshot = folder.appendingPathComponent("report.png")
        try await Chromium.screenshot(html.absoluteString, to: screenshot.path)
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(png.count) bytes")
    }

    @Test("the dashboard serves the run as it goes, then the final report and its downloads while it lingers")
    func dashboardOverHTTP() async throws {
        let folder = try temporaryFolder("pages")
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("url.json")
        let html = folder.appendingPathComponent("url.html")
        try await LiveServer.with { server in
            try await RunningTurnstile.with([
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "2", "-d", "4s", "--dashboard",
                "127.0.0.1:0", "--dashboard-linger", "60s", "--json", json.path, "--html", html.path, "-H",
                "Authorization: Bearer sekrit-token",
            ]) { run in
                let port = try await Self.dashboardPort(run)
                // Only its own address: a page that rebinds its own name to this machine gets nothing.
                func status(host: String) async throws -> RawExchange.Outcome {
                    await RawExchange.send(
                        Array("GET /report.json HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8),
                        to: try LoadTarget(parsing: "http://127.0.0.1:\(port)"),
                        on: MultiThreadedEventLoopGroup.singleton.next(), timeout: .seconds(10))
                }
                #expect(
                    try await status(host: "rebound.example:\(port)")
                        == .answered(status: 421, contentType: "text/plain; charset=utf-8"))
                #expect(
                    try await status(host: "localhost:\(port)")
                        == .answered(status: 200, contentType: "application/json"))
                #expect(
                    try await status(host: "127.0.0.1:\(port)")
                        == .answered(status: 200, contentType: "application/json"))
                // Under way: the page says so, and two reads of the result a moment apart count more requests.
                let first = try await Self.requests(port) { $0 > 0 }
                let page = try await send(HTTPTestRequest(.GET, "/"), to: port)
                #expect(page.status == 200 && page.text.contains("RUNNING · url") && page.text.contains("EventSource"))
                let second = try await Self.requests(port) { $0 > first }
                #expect(second > first)
                // Over: the final report, with its verdict and downloads, is what the JSON file holds.
                _ = try await run.line(containing: "the final report stays at")
                let report = try JSONReport.decode(Data(contentsOf: json))
                let final = try await send(HTTPTestRequest(.GET, "/"), to: port)
                #expect(final.text.contains("<h1>PASS · url</h1>") && final.text.contains("href=\"report.html\""))
                let served = try JSONReport.decode(
                    Data(try await send(HTTPTestRequest(.GET, "/report.json"), to: port).body))
                #expect(served.runID == report.runID && served.phases[0].overall == report.phases[0].overall)
                let download = try await send(HTTPTestRequest(.GET, "/report.html"), to: port)
                #expect(download.text.contains("<h1>PASS · url</h1>") && !download.text.contains("EventSource"))
                // The command line is shown, its credential is not: on the page, in the download and in the file.
                let written = try String(contentsOf: html, encoding: .utf8)
                for text in [final.text, download.text, written] {
                    #expect(text.contains("Authorization: [redacted]") && !text.contains("sekrit"))
                }
                // The JSON result names no command line at all, so no header of one.
                let servedJSON = try await send(HTTPTestRequest(.GET, "/report.json"), to: port).text
                let writtenJSON = try String(contentsOf: json, encoding: .utf8)
                #expect(!servedJSON.contains("sekrit") && !writtenJSON.contains("sekrit"))
            }
        }
    }

    @Test(
        "two saved throughput results, cache on and off: the table sets their rates side by side, the page renders in a browser",
        .enabled(if: Chromium.testsRun, "chromium is not on the PATH: the browser tests are skipped"))
    func cacheComparison() async throws {
        let folder = try temporaryFolder("compare")
        defer { try? FileManager.default.removeItem(at: folder) }
        var results: [RunReport] = []
        for (name, cache) in [("cached", true), ("uncached", false)] {
            let json = folder.appendingPathComponent("\(name).json")
            let (status, output) = try await LiveServer.with(configure: { $0.readCacheEnabled = cache }) { server in
                try await TurnstileProcess.run([
                    "stress", "throughput", "--target", "http://127.0.0.1:\(server.port)", "-c", "8", "-d", "2s",
                    "--json", json.path,
                ])
            }
            #expect(status == 0, "\(output)")
            results.append(try JSONReport.decode(Data(contentsOf: json)))
        }
        let page = folder.appendingPathComponent("compare.html")
        let (status, output) = try await TurnstileProcess.run([
            "report", "compare", folder.appendingPathComponent("cached.json").path,
            folder.appendingPathComponent("uncached.json").path, "--html", page.path,
        ])
        #expect(status == 0 && output.contains("cached against uncached"), "\(output)")
        // The table's rates are the two results'. Which side is faster is a
        // measurement, not a test: on a quiet machine the cached one (BENCHMARKS.md, `throughput --embedded`); on one
        // busy with the rest of the suite, either, so it is not asserted here.
        let comparison = RunComparison(results[0], results[1], names: ("cached", "uncached"))
        let row = try #require(comparison.rows.first { $0.endpoint == "overall" } ?? comparison.rows.first)
        let (cached, uncached) = (results[0].phases[0], results[1].phases[0])
        #expect(row.a?.rps == cached.rate(cached.overall) && row.b?.rps == uncached.rate(uncached.overall))
        #expect(output.contains(Format.rate(cached.rate(cached.overall))), "\(output)")
        let dom = try await Chromium.dumpDOM(page.absoluteString)
        #expect(dom.contains("cached") && dom.contains("uncached") && dom.contains("<table"), "\(dom.prefix(500))")
    }

    @Test("a dashboard port that is taken ends the command before it runs: one line, exit 3")
    func dashboardPortTaken() async throws {
        let (status, output, port) = try await LiveServer.with { server in
            let (status, output) = try await TurnstileProcess.run([
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "-d", "1s", "--dashboard",
                "127.0.0.1:\(server.port)",
            ])
            return (status, output, server.port)
        }
        #expect(status == 3, "\(output)")
        #expect(output == "error: --dashboard: could not listen on 127.0.0.1:\(port) (is the port taken?)\n")
    }

    @Test(
        "the dashboard in a real browser: the page follows the run, its numbers change between two reads",
        .enabled(if: Chromium.testsRun, "chromium is not on the PATH: the browser tests are skipped"))
    func dashboardInBrowser() async throws {
        try await LiveServer.with { server in
            try await RunningTurnstile.with([
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "2", "-d", "8s", "--dashboard",
                "127.0.0.1:0", "--dashboard-linger", "60s",
            ]) { run in
                let port = try await Self.dashboardPort(run)
                _ = try await Self.requests(port) { $0 > 0 }
                let dom = try await Chromium.dumpDOM("http://127.0.0.1:\(port)/", budget: .seconds(3))
                let data = Chromium.bodyData(dom)
                let seen = (data["requests-seen"] ?? "").split(separator: " ").compactMap { UInt64($0) }
                #expect(seen.count >= 2 && seen.last! > seen.first!, "\(data)")
                #expect(Int(data["drawn-lines"] ?? "") ?? 0 > 0, "\(data)")
                let folder = try temporaryFolder("pages")
                defer { try? FileManager.default.removeItem(at: folder) }
                let screenshot = folder.appendingPathComponent("dashboard.png")
                try await Chromium.screenshot("http://127.0.0.1:\(port)/", to: screenshot.path)
                let png = try Data(contentsOf: screenshot)
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(png.count) bytes")
            }
        }
    }

    @Test("--watch-pid and --watch-metrics put the target's CPU, memory and series beside the load, in every output")
    func watchedResources() async throws {
        let folder = try temporaryFolder("pages")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (json, html, csv) = (
            folder.appendingPathComponent("url.json"), folder.appendingPathComponent("url.html"),
            folder.appendingPathComponent("csv")
        )
        // A second process, named by a PID file: a shell that does nothing but wait for the busy child it started.
        let pidFile = folder.appendingPathComponent("busy.pid")
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/bin/sh")
        busy.arguments = [
            "-c",
            "echo $$ > '\(pidFile.path)'; echo ready; (i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done) & wait",
        ]
        let started = Pipe()
        busy.standardOutput = started
        try busy.run()
        defer { ProcessTree.signal(busy.processIdentifier, SIGKILL) }
        // Its first line comes once the PID file is written.
        _ = await onOwnThread { started.fileHandleForReading.availableData }
        // The live server runs in this test process: that is the process to watch first.
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "2", "-d", "3s", "--watch-pid",
                String(getpid()), "--watch-pid", pidFile.path, "--watch-metrics",
                "http://127.0.0.1:\(server.port)/metrics", "--watch-series", "turnstile_connections_open", "--json",
                json.path, "--html", html.path, "--csv", csv.path,
            ])
        }
        #expect(status == 0, "\(output)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        let resources = try #require(report.resources)
        #expect(resources.sources.first == "process \(getpid()) (\(ProcessInfo.processInfo.processName.prefix(15)))")
        #expect(resources.samples.count >= 3, "a sample a second through a 3 s run, and one at its end")
        #expect(resources.samples.allSatisfy { ($0.residentBytes ?? 0) > 0 && ($0.threads ?? 0) > 0 })
        #expect(resources.samples.dropFirst().allSatisfy { $0.cpuPercent != nil })
        #expect(resources.samples.contains { ($0.metrics["turnstile_connections_open"] ?? 0) >= 1 })
        // Given twice, the flag keeps both; the second is counted with its busy child, though itself it only waits.
        let second = "process \(busy.processIdentifier) (sh)"
        #expect(resources.sources.dropFirst().first == second, "\(resources.sources)")
        let secondCPU = resources.samples.compactMap { $0.processes[second]?.cpuPercent }
        #expect((secondCPU.max() ?? 0) > 10, "\(secondCPU)")
        #expect(ResourceWatcher.ProcessStats.read(String(busy.processIdentifier))!.cpuSeconds < 0.5)
        let rows = try NamedCSV(url: csv.appendingPathComponent("resources.csv")).rows
        #expect(rows.count == resources.samples.count && rows.allSatisfy { $0["turnstile_connections_open"] != "" })
        #expect(rows.contains { Double($0["\(second): cpu_percent"] ?? "") ?? 0 > 10 })
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<section id=\"resources\">") && page.contains("resident memory (MiB)"))
        #expect(page.contains("CPU of \(second) (%)"))
        let (badStatus, badOutput) = try await TurnstileProcess.run([
            "stress", "url", "http://127.0.0.1:1/", "--watch-metrics", "http://127.0.0.1:1/metrics",
        ])
        #expect(badStatus == 3 && badOutput.contains("--watch-series"), "\(badOutput)")
    }

    /// The dashboard's port, from the line the run prints.
    static func dashboardPort(_ run: RunningTurnstile) async throws -> Int {
        let line = try await run.line(containing: "Dashboard: http://127.0.0.1:")
        let port = line.firstMatch(of: /127\.0\.0\.1:(\d+)\//).flatMap { Int($0.1) }
        return try #require(port, "\(line)")
    }

    /// The run's requests so far, as the dashboard's JSON says, once `condition` holds for them (within 10 s).
    static func requests(_ port: Int, until condition: (UInt64) -> Bool) async throws -> UInt64 {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let response = try await send(HTTPTestRequest(.GET, "/report.json"), to: port)
            let report = try JSONReport.decode(Data(response.body))
            let requests = report.phases.map { $0.overall.requests }.reduce(0, +)
            if condition(requests) || ContinuousClock.now > deadline { return requests }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
