import Foundation
import SwiftCSV
import Testing
import TurnstileReport
import TurnstileTestSupport

/// `turnstile stress` end to end, as CI would run it: the exit code is the verdict.
@Suite("turnstile stress process", .serialized, .timeLimit(.minutes(2)))
struct StressProcessTests {
    @Test("race against the real service: exit 0, and the JSON holds every passed invariant")
    func raceAgainstService() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("race-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(server.port)", "--users", "40", "--capacity", "9",
                "--json", json.path, "--threshold", "errors<1%",
            ])
        }
        #expect(status == 0, "\(output)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        #expect(report.outcome == .passed)
        #expect(report.phases.first?.overall.count(status: 201) == 9)
        #expect(!report.invariants.isEmpty && report.invariants.allSatisfy(\.passed))
        #expect(output.contains("Result: PASS"))
    }

    @Test("--csv writes stats, history and invariants that parse, and whose totals are the JSON's")
    func csvFiles() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString)/out")
        let json = folder.deletingLastPathComponent().appendingPathComponent("race.json")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(
            at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(server.port)", "--users", "30", "--capacity", "7",
                "--json", json.path, "--csv", folder.path,
            ])
        }
        #expect(status == 0, "\(output)")
        #expect(output.contains("CSV written to \(folder.path) (stats.csv, history.csv, invariants.csv)"))
        let report = try JSONReport.decode(Data(contentsOf: json))
        let stats = try NamedCSV(url: folder.appendingPathComponent("stats.csv"))
        let overall = try #require(stats.rows.first { $0["endpoint"] == "overall" })
        #expect(overall["requests"] == String(report.phases[0].overall.requests))
        #expect(overall["statuses"] == "201:7 409:23")
        let history = try NamedCSV(url: folder.appendingPathComponent("history.csv"))
        // The `all` rows add up to the JSON's timeline, and each second's endpoint rows add up to its `all` row.
        func requests(_ endpoint: String) -> UInt64 {
            history.rows.filter { $0["endpoint"] == endpoint }.compactMap { UInt64($0["requests"] ?? "") }.reduce(0, +)
        }
        let timelineRequests: UInt64 = report.phases[0].timeline.map(\.requests).reduce(0, +)
        #expect(requests("all") == timelineRequests && timelineRequests == 30)
        #expect(requests("book") == 30 && Set(history.rows.compactMap { $0["endpoint"] }) == ["all", "book"])
        #expect(history.rows.filter { $0["endpoint"] == "all" }.compactMap { $0["statuses"] }.joined().contains("201:"))
        let invariants = try NamedCSV(url: folder.appendingPathComponent("invariants.csv"))
        #expect(invariants.rows.map { $0["rule"] } == report.invariants.map(\.rule))
        #expect(invariants.rows.allSatisfy { $0["passed"] == "true" })
    }

    @Test("report renders a saved result as HTML and CSV; a file that is not a result is one line, exit 3")
    func reportCommand() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("race.json")
        let (raceStatus, raceOutput) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(server.port)", "--users", "12", "--capacity", "3",
                "--json", json.path,
            ])
        }
        #expect(raceStatus == 0, "\(raceOutput)")
        let html = folder.appendingPathComponent("race.html")
        let (status, output) = try await TurnstileProcess.run([
            "report", json.path, "--html", html.path, "--csv", folder.appendingPathComponent("csv").path,
        ])
        #expect(status == 0, "\(output)")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<h1>PASS · race</h1>") && page.contains("<h2>race 12→3</h2>"))
        #expect(!page.contains("<dt>command</dt>"), "the command that ran the race is not known to `report`")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("csv/stats.csv").path))

        let (badStatus, badOutput) = try await TurnstileProcess.run(["report", html.path, "--html", html.path])
        #expect(badStatus == 3 && badOutput.contains("is not a Turnstile JSON result"), "\(badOutput)")
        let (usageStatus, usageOutput) = try await TurnstileProcess.run(["report", json.path])
        #expect(usageStatus == 3 && usageOutput.contains("--html FILE, --csv FOLDER"), "\(usageOutput)")
    }

    @Test("an open-loop run that could not send the rate it was asked for fails dropped<1%, exit 1, unless told")
    func droppedArrivals() async throws {
        let (held, lenient) = try await LiveServer.with { server in
            // One connection carries a few thousand requests a second; 50,000 a second cannot all be sent.
            let run = [
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "--rate", "50000", "-c", "1", "-d", "500ms",
            ]
            return (
                try await TurnstileProcess.run(run),
                try await TurnstileProcess.run(run + ["--threshold", "dropped<=100%"])
            )
        }
        #expect(held.status == 1 && held.output.contains("dropped<1%"), "\(held.output)")
        #expect(lenient.status == 0, "\(lenient.output)")
    }

    @Test("race against a target that oversells: exit 2, and the report names the broken rule")
    func brokenTarget() async throws {
        let (status, output) = try await BrokenTarget.with(buyers: 20) { broken in
            try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(broken.port)", "--users", "20", "--capacity", "5",
            ])
        }
        #expect(status == 2, "\(output)")
        #expect(output.contains("FAIL  race 20→5"))
        #expect(output.contains("invariant broken"))
    }

    @Test("the demo proves the embedded service and passes, its JSON holding every phase")
    func demo() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let html = json.deletingPathExtension().appendingPathExtension("html")
        defer { try? FileManager.default.removeItem(at: html) }
        let (status, output) = try await TurnstileProcess.run([
            "demo", "--duration", "2s", "--users", "4", "--json", json.path, "--html", html.path,
            "--store-timeout", "30s",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("HTML report written to \(html.path)"))
        let report = try JSONReport.decode(Data(contentsOf: json))
        // The HTML of the whole proof: the race grid, mixed traffic and every other phase, each with its section,
        // and nothing fetched from elsewhere.
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("<h1>PASS · demo</h1>") && page.contains("\(report.invariants.count) of "))
        for (index, phase) in report.phases.enumerated() {
            #expect(page.contains("<section class=\"phase\" id=\"phase-\(index)\"><h2>\(phase.name)</h2>"))
        }
        #expect(!["src=", "href=", "url(", "<script src", "<link", "https://"].contains { page.contains($0) })
        // Every section: the phases side by side, the process's resources beside the load, and the mixed phase's
        // charts over its seconds, by endpoint, with its status codes.
        for section in [
            "<section id=\"invariants\">", "<section id=\"resources\">", "<section id=\"phases\">",
            "release spread", "book: granted 10, refused 90", "<section id=\"feeds\">", "20000 of 20000",
            "requests per second by endpoint", "p95 by endpoint", "status codes per second", "latency by percentile",
        ] {
            #expect(page.contains(section), "\(section)")
        }
        #expect(report.resources.map { $0.samples.count >= 10 } == true, "the demo watches its own process")
        #expect(
            report.phases.map(\.name) == [
                "race 100→10", "race 300→299", "race 300×10→10", "orders 20→5", "orders lifecycle ×30",
                "credits 50×5 from 100", "bids 100×5", "fanout 1000×20", "mixed", "ordinary requests", "bad inputs",
                "throughput (cache on)", "throughput (cache off)",
            ])
        // The bad inputs made from every ordinary request: each refused (a few accepted: public reads ignore a
        // token), none failed.
        #expect(report.badInputs.count > 100 && !report.badInputs.contains { $0.verdict.isFailure })
        // Every request endpoint of every phase was measured from its release or start: no answer came back early,
        // and none in a microsecond.
        for phase in report.phases {
            for endpoint in phase.endpoints where endpoint.responses > 0 {
                #expect(endpoint.errorCounts["before-release"] == nil, "\(phase.name) \(endpoint.name)")
                #expect(
                    endpoint.latency.minimum > 1, "\(phase.name) \(endpoint.name): \(endpoint.latency.minimum) µs")
            }
        }
        let allHeld = report.invariants.allSatisfy(\.passed)
        #expect(allHeld && report.outcome == .passed)
        #expect(output.contains("Turnstile demo: PASS"))
        #expect(output.contains("200×20 402×30"))
        #expect(output.contains("20000 of 20000 delivered"))
        #expect(report.feeds.map(\.delivered) == [20_000])
    }

    @Test("throughput --embedded compares the read cache on and off, side by side")
    func cacheComparison() async throws {
        let (status, output) = try await TurnstileProcess.run([
            "stress", "throughput", "--embedded", "--users", "4", "--duration", "300ms",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("throughput (cache on)") && output.contains("throughput (cache off)"))
    }

    @Test("breaking-point ramps the bundled mixed traffic and stops at the first stage past its limits, named")
    func breakingPoint() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("stress-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let (status, output) = try await LiveServer.with { server in
            // A p99 limit of a microsecond: the first stage breaks it.
            try await TurnstileProcess.run([
                "stress", "breaking-point", "--target", "http://127.0.0.1:\(server.port)", "--start-users", "1",
                "--max-users", "4", "--stage-duration", "300ms", "--max-p99", "1us", "--json", json.path,
            ])
        }
        #expect(status == 0, "\(output)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        #expect(report.phases.map(\.users) == [1])
        let point = try #require(report.breakingPoints.first)
        #expect(point.broke.users == 1 && point.held == nil && point.reasons.first?.hasPrefix("p99_ms ") == true)
        #expect(output.contains("breaking point of mixed: mixed (stage 1: 1 users)"), "\(output)")
        let (holding, holdingOutput) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "breaking-point", "--target", "http://127.0.0.1:\(server.port)", "--start-users", "1",
                "--max-users", "2", "--stage-duration", "300ms", "--max-p99", "60s", "--max-error-percent", "50",
            ])
        }
        #expect(holding == 0 && holdingOutput.contains("mixed: no breaking point up to 2 users"), "\(holdingOutput)")
    }

    @Test("--versus runs a scenario twice, A as --set says and B with the --versus values, and sets them side by side")
    func versus() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("versus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("race.json").path
        let html = folder.appendingPathComponent("compare.html").path
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "run", ScenarioProcessTests.repository.appendingPathComponent("scenarios/race.yaml").path,
                "--target", "http://127.0.0.1:\(server.port)",
                "--set", "users=12", "--set", "capacity=3", "--versus", "capacity=6", "--json", json, "--html", html,
            ])
        }
        #expect(status == 0, "\(output)")
        let a = try JSONReport.decode(Data(contentsOf: folder.appendingPathComponent("race.a.json")))
        let b = try JSONReport.decode(Data(contentsOf: folder.appendingPathComponent("race.b.json")))
        // Each side is a run of its own: A sold 3 seats, B 6.
        #expect(a.phases.first?.overall.count(status: 201) == 3 && b.phases.first?.overall.count(status: 201) == 6)
        #expect(a.runID != b.runID)
        #expect(output.contains("A against B: capacity=3 against capacity=6"), "\(output)")
        // The phases are paired by their place, though their names hold the capacity.
        #expect(output.contains("race 12→3 | race 12→6  book"), "\(output)")
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("capacity=6"))
    }

    @Test("--versus with the dashboard or JSON on standard output is refused before anything runs")
    func versusRefusals() async throws {
        for extra in [["--dashboard", "0"], ["--json", "-"]] {
            let (status, output) = try await TurnstileProcess.run(
                ["stress", "run", "scenarios/race.yaml", "--versus", "capacity=6"] + extra)
            #expect(status == 3 && output.contains("--versus"), "\(output)")
        }
    }

    @Test("fanout --embedded delivers every bid to every subscriber and watches the service's resources")
    func embeddedFanout() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("fanout-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let (status, output) = try await TurnstileProcess.run([
            "stress", "fanout", "--embedded", "--connections", "40", "--bids", "5", "--interval", "1ms", "--json",
            json.path,
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("delivered 200 of 200 (100.00%)"), "\(output)")
        // The embedded service runs in this process, whose memory (40 subscribers' worth) is watched.
        let report = try JSONReport.decode(Data(contentsOf: json))
        #expect(report.resources?.samples.contains { ($0.residentBytes ?? 0) > 0 } == true)
    }

    @Test("race --grid adds the stock race to the seat races")
    func gridWithStock() async throws {
        try await LiveServer.with { server in
            let (status, output) = try await TurnstileProcess.run([
                "stress", "race", "--grid", "--target", "http://127.0.0.1:\(server.port)",
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("PASS  race 300×10→10") && output.contains("PASS  orders 20→5"))
        }
    }

    @Test("two shards merge into one result whose counts and histograms add")
    func mergeShards() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let shards = ["a", "b"].map { directory.appendingPathComponent("\($0).json").path }
        let merged = directory.appendingPathComponent("merged.json").path
        try await LiveServer.with { server in
            for shard in shards {
                let (status, output) = try await TurnstileProcess.run([
                    "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "2", "-d", "300ms", "--json",
                    shard, "--run-id", "two-shards",
                ])
                #expect(status == 0, "\(output)")
            }
        }
        let (status, output) = try await TurnstileProcess.run(
            ["stress", "merge"] + shards + ["--json", merged, "--threshold", "errors<1%"])
        #expect(status == 0, "\(output)")
        let parts = try shards.map { try JSONReport.decode(Data(contentsOf: URL(fileURLWithPath: $0))) }
        let whole = try JSONReport.decode(Data(contentsOf: URL(fileURLWithPath: merged)))
        #expect(whole.phases.count == 1)
        #expect(whole.phases[0].overall.requests == parts.map { $0.phases[0].overall.requests }.reduce(0, +))
        var histogram = parts[0].phases[0].overall.latency
        histogram.add(parts[1].phases[0].overall.latency)
        #expect(whole.phases[0].overall.latency == histogram)
        #expect(whole.thresholds.count == 1 && whole.thresholds[0].passed)
    }

    @Test("one race from 4 shard processes: prepared once, released at one instant, merged into one verdict")
    func shardProcesses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let race = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scenarios/race.yaml").standardizedFileURL.path
        let run = directory.appendingPathComponent("run.json").path
        try await LiveServer.with { server in
            let target = "http://127.0.0.1:\(server.port)"
            let (prepared, preparing) = try await TurnstileProcess.run([
                "stress", "prepare", race, "--target", target, "--set", "users=40", "--set", "capacity=10", "--out",
                run,
            ])
            #expect(prepared == 0, "\(preparing)")
            // A shard started without the prepared run is refused, and told how to run it.
            let (refused, refusal) = try await TurnstileProcess.run([
                "stress", "run", race, "--target", target, "--shard", "0/4",
            ])
            #expect(refused == 3 && refusal.contains("turnstile stress prepare"), "\(refusal)")
            // Four processes, each given the same instant, a few seconds ahead: every one provisions, then waits.
            let startAt = String(Date().timeIntervalSince1970 + 10)
            let shards = (0..<4).map { directory.appendingPathComponent("shard-\($0).json").path }
            let results = try await withThrowingTaskGroup(of: (Int32, String).self) { group in
                for (index, shard) in shards.enumerated() {
                    group.addTask {
                        try await TurnstileProcess.run([
                            "stress", "run", race, "--target", target, "--shard", "\(index)/4", "--prepared", run,
                            "--start-at", startAt, "--json", shard,
                        ])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for (status, output) in results { #expect(status == 0, "\(output)") }
            let merged = directory.appendingPathComponent("merged.json").path
            let (status, output) = try await TurnstileProcess.run(
                ["stress", "merge"] + shards + ["--target", target, "--prepared", run, "--json", merged])
            #expect(status == 0, "\(output)")
            #expect(output.contains("released by 4 shards within"), "\(output)")
            let whole = try JSONReport.decode(Data(contentsOf: URL(fileURLWithPath: merged)))
            #expect(
                whole.phases[0].overall.count(status: 201) == 10 && whole.phases[0].overall.count(status: 409) == 30)
            #expect(whole.invariants.count == 7 && whole.invariants.allSatisfy(\.passed))
            // Three of four: not whole, exit 3, the missing one named.
            let (partial, partialOutput) = try await TurnstileProcess.run(
                ["stress", "merge"] + shards.prefix(3) + ["--target", target, "--prepared", run])
            #expect(partial == 3 && partialOutput.contains("shard 3/4 missing"), "\(partialOutput)")
        }
    }

    @Test("a breached threshold exits 1")
    func thresholdBreached() async throws {
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(server.port)", "--users", "5", "--capacity", "5",
                "--threshold", "p50<1us",
            ])
        }
        #expect(status == 1, "\(output)")
    }

    @Test(
        "bad flags and an unreachable target exit 3",
        arguments: [
            ["stress", "race", "--threshold", "p95"],
            ["stress", "race", "--target", "https://127.0.0.1:8080"],
            ["stress", "race", "--users", "0"],
            ["stress", "url", "ftp://nowhere"],
            // Port 1 on loopback: nothing listens, so the set-up is refused at once.
            ["stress", "race", "--target", "http://127.0.0.1:1"],
        ])
    func couldNotRun(_ arguments: [String]) async throws {
        let (status, output) = try await TurnstileProcess.run(arguments)
        #expect(status == 3, "\(output)")
    }
}
