import ArgumentParser
import Foundation
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import turnstile

/// One vocabulary across the suites, help that reads as a person would write it, and usage errors that say what to
/// do: parsed in-process, as `turnstile` parses them.
@Suite("turnstile stress command line")
struct StressCommandLineTests {
    @Test(
        "users are --users or -c in every suite, and every time value takes a unit",
        arguments: [
            ["stress", "race", "-c", "7", "--capacity", "3", "--amount", "2", "--timeout", "5s"],
            ["stress", "orders", "--users", "7", "--capacity", "3", "--read-timeout", "500ms"],
            ["stress", "credits", "-c", "7", "--capacity", "30", "--amount", "2"],
            ["stress", "bids", "-c", "7", "--rounds", "2"],
            ["stress", "mixed", "-c", "7", "-d", "2s", "-R", "100"],
            ["stress", "throughput", "--users", "7", "--duration", "1m"],
            ["stress", "crash", "-c", "7", "--capacity", "3", "--kill-after", "2"],
            ["stress", "fanout", "-c", "7"],
            ["stress", "url", "http://127.0.0.1:1/", "-c", "7", "--duration", "2s", "--timeout", "1s"],
            ["stress", "url", "http://127.0.0.1:1/", "--users", "7", "-d", "250ms"],
            ["serve", "--store-timeout", "1500ms"],
            ["demo", "-c", "7", "-d", "1s", "--store-timeout", "2s"],
        ])
    func vocabulary(_ arguments: [String]) throws {
        _ = try Turnstile.parseAsRoot(arguments)
    }

    @Test("--dashboard takes a port, host:port or [IPv6]:port, loopback by default; nothing else")
    func dashboardAddress() throws {
        for (argument, host, port) in [
            ("8089", "127.0.0.1", 8089), (":0", "127.0.0.1", 0), ("0.0.0.0:9000", "0.0.0.0", 9000),
            ("[::1]:9001", "::1", 9001),
        ] {
            let address = try #require(DashboardAddress(argument: argument), "\(argument)")
            #expect(address.host == host && address.port == port, "\(argument)")
        }
        for argument in ["", "web", "70000", "127.0.0.1:", "-1"] {
            #expect(DashboardAddress(argument: argument) == nil)
        }
        for suite in [["stress", "race"], ["stress", "run", "scenarios/race.yaml"], ["demo"]] {
            _ = try Turnstile.parseAsRoot(suite + ["--dashboard", ":0", "--dashboard-linger", "0"])
        }
        #expect(throws: (any Error).self) { try Turnstile.parseAsRoot(["stress", "race", "--dashboard-linger", "5"]) }
    }

    @Test("a dashboard event carries its data a line at a time, and ends with a blank line")
    func dashboardEvent() {
        #expect(
            Dashboard.event("report", data: "<p>a</p>\n<p>b</p>") == "event: report\ndata: <p>a</p>\ndata: <p>b</p>\n\n"
        )
    }

    @Test(
        "values the target would refuse, bare numbers for times and the API prefix in --target are refused first",
        arguments: [
            ["stress", "race", "--users", "5", "--capacity", "2", "--amount", "20"],
            ["stress", "race", "--capacity", "0"],
            ["stress", "race", "--timeout", "5"],
            ["stress", "race", "--target", "http://127.0.0.1:8080/api/v1"],
            ["stress", "race", "--target", "http://127.0.0.1:8080/api/v1/"],
            ["stress", "race", "--json", "/nonexistent/dir/out.json"],
            ["stress", "url", "http://127.0.0.1:1/", "--expect-status", "2xx"],
            ["stress", "merge", "a.json", "--json", "/nonexistent/dir/out.json"],
            ["stress", "stress"],
            ["serve", "--store-timeout", "1"],
        ])
    func refusals(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try Turnstile.parseAsRoot(arguments) }
    }

    @Test("--help shows defaults as people write them, and ends with examples")
    func help() {
        let commands: [any ParsableCommand.Type] = [
            StressRaceCommand.self, StressURLCommand.self, StressMixedCommand.self, StressThroughputCommand.self,
            StressBreakingPointCommand.self, StressOrdersCommand.self, StressCreditsCommand.self,
            StressBidsCommand.self, StressFanoutCommand.self, StressEdgeCommand.self, StressCrashCommand.self,
            StressFaultsCommand.self, StressMergeCommand.self, ServeCommand.self, DemoCommand.self, ProxyCommand.self,
        ]
        for command in commands {
            let help = Turnstile.helpMessage(for: command, columns: 120)
            #expect(!help.contains("DurationArgument") && !help.contains("TimeAmount"), "\(command)")
            #expect(help.contains("Examples:\n  turnstile "), "\(command) has no examples")
        }
        #expect(Turnstile.helpMessage(for: StressURLCommand.self, columns: 120).contains("(default: 10s)"))
        #expect(Turnstile.helpMessage(for: ServeCommand.self, columns: 120).contains("(default: 1s)"))
    }

    @Test("a misspelt command is one line naming the nearest one")
    func suggestions() {
        let error = ValidationError("x")
        #expect(UsageError.line(for: error, arguments: ["strss"]).contains("did you mean `stress`?"))
        #expect(UsageError.line(for: error, arguments: ["stress", "rce", "-c", "2"]).contains("did you mean `race`?"))
        #expect(UsageError.line(for: error, arguments: ["stress", "rce"]).hasSuffix("(see `turnstile stress --help`)"))
        #expect(!UsageError.line(for: error, arguments: ["stress", "zzzzzzzz"]).contains("did you mean"))
    }
}

/// The same as a user meets it: the built executable, its exit codes and what it prints.
@Suite("turnstile stress verdicts, as a process", .serialized, .timeLimit(.minutes(2)))
struct StressVerdictProcessTests {
    @Test("every usage error exits 3 with one line on standard error")
    func usageErrors() async throws {
        for arguments in [
            ["strss"], ["stress", "rce"], ["serve", "--port", "70000"], ["stress", "race", "--usrs", "2"],
        ] {
            let (status, output, errors) = try await TurnstileProcess.runApart(arguments)
            #expect(status == 3, "\(arguments): \(errors)")
            #expect(output.isEmpty)
            #expect(errors.split(separator: "\n").count == 1, "\(errors)")
        }
        let (_, _, errors) = try await TurnstileProcess.runApart(["strss"])
        #expect(errors.contains("did you mean `stress`?"))
    }

    @Test("a target that is down cannot pass: exit 3, one line why, no latency reported")
    func targetDown() async throws {
        let (status, output) = try await TurnstileProcess.run([
            "stress", "url", "http://127.0.0.1:1/health", "-c", "2", "-d", "300ms",
        ])
        #expect(status == 3, "\(output)")
        #expect(output.contains("Could not run: nothing listens on http://127.0.0.1:1"))
        #expect(output.contains("url — closed, 2 connections"), "url drives connections, not users")
        #expect(!output.contains("0µs"))
    }

    @Test("4xx answers are failures unless expected; an output path that cannot be written costs no run")
    func statusesAndOutputs() async throws {
        try await LiveServer.with { server in
            let base = "http://127.0.0.1:\(server.port)"
            let missing = try await TurnstileProcess.run([
                "stress", "url", "\(base)/nope", "-c", "2", "-d", "300ms", "--threshold", "errors<1%",
            ])
            #expect(missing.status == 1, "\(missing.output)")
            #expect(missing.output.contains("100.00%"))
            let expected = try await TurnstileProcess.runApart([
                "stress", "url", "\(base)/nope", "-c", "2", "-d", "300ms", "--threshold", "errors<1%",
                "--expect-status", "404", "--json", "-",
            ])
            #expect(expected.status == 0, "\(expected.errors)")
            // `--json -`: standard output is the JSON alone, verdict first; the tables go to standard error.
            let object = try JSONSerialization.jsonObject(with: Data(expected.output.utf8)) as? [String: Any]
            let result = try #require(object?["result"] as? [String: Any])
            #expect(result["passed"] as? Bool == true && result["exitCode"] as? Int == 0)
            #expect(expected.errors.contains("Result: PASS"))

            let unwritable = try await TurnstileProcess.run([
                "stress", "url", "\(base)/health", "-d", "300ms", "--json", "/nonexistent/dir/out.json",
            ])
            #expect(unwritable.status == 3)
            #expect(!unwritable.output.contains("Result:"), "the run must not happen: \(unwritable.output)")
        }
    }

    @Test("merge refuses results of different runs and files that are missing, in one line each")
    func mergeRefusals() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for runID in ["run-a", "run-b"] {
            var report = RunReport(suite: "mixed", target: "http://127.0.0.1:1", runID: runID)
            var stats = EndpointStats(name: "book")
            stats.record(status: 201, microseconds: 900)
            report.phases = [
                PhaseReport(
                    name: "mixed", executor: "closed", startedAt: Date(), durationSeconds: 1, users: 32,
                    endpoints: [stats], timeline: [])
            ]
            let path = directory.appendingPathComponent("\(runID).json").path
            try JSONReport.encode(report).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let mixed = try await TurnstileProcess.runApart(["stress", "merge"] + paths)
        #expect(mixed.status == 3)
        #expect(mixed.errors.contains("not shards of one run") && mixed.errors.split(separator: "\n").count == 1)
        let forced = try await TurnstileProcess.run(["stress", "merge", "--force"] + paths)
        #expect(forced.status == 0, "\(forced.output)")
        let missing = try await TurnstileProcess.runApart(["stress", "merge", paths[0], "/nonexistent/x.json"])
        #expect(missing.status == 3)
        #expect(missing.errors == "error: /nonexistent/x.json: no such file\n")
    }
}
