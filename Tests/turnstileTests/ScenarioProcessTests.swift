import Foundation
import Testing
import TurnstileReport
import TurnstileTestSupport

/// `turnstile stress run` and `stress check` end to end: a scenario file's verdict is the exit code, and a mistake in
/// the file is one line with its position, exit 3, before anything is sent.
@Suite("turnstile stress run and check", .serialized, .timeLimit(.minutes(2)))
struct ScenarioProcessTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL

    @Test("stress run scenarios/race.yaml gives the same verdict as stress race: exit 0 against the service")
    func bundledFileAgainstService() async throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let file = Self.repository.appendingPathComponent("scenarios/race.yaml").path
        let (status, output) = try await LiveServer.with { server in
            try await TurnstileProcess.run([
                "stress", "run", file, "--target", "http://127.0.0.1:\(server.port)", "--set", "users=30", "--set",
                "capacity=4", "--json", json.path,
            ])
        }
        #expect(status == 0, "\(output)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        #expect(report.suite == "race" && report.phases.map(\.name) == ["race 30→4"])
        #expect(report.phases.first?.overall.count(status: 201) == 4)
        #expect(report.phases.first?.facts == ["book: granted 4, refused 26"], "the outcomes, named as in the file")
        #expect(report.invariants.count == 7 && report.invariants.allSatisfy(\.passed))
    }

    @Test("the tutorial's scenario against a shop that oversells: exit 2, the broken rule on the console")
    func foreignBrokenTarget() async throws {
        let file = Self.repository.appendingPathComponent("docs/examples/shop.yaml").path
        let (status, output) = try await ForeignShop.with(defect: .oversells, buyers: 12) { shop in
            try await TurnstileProcess.run([
                "stress", "run", file, "--target", "http://127.0.0.1:\(shop.port)", "--set", "buyers=12",
            ])
        }
        #expect(status == 2, "\(output)")
        #expect(output.contains("FAIL  flash sale  never more sold than there was"), "\(output)")
    }

    @Test("a run whose requests nearly all failed does not pass for want of a threshold: errors<1% stands in")
    func defaultFailureBound() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("failing-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
        name: failing
        users: {count: 2}
        phases:
          - executor: closed
            duration: 500ms
            request: {name: missing, path: /api/v1/events/999999999}
        """.write(to: file, atomically: true, encoding: .utf8)
        let ((status, output), (overridden, overriddenOutput)) = try await LiveServer.with { server in
            let target = "http://127.0.0.1:\(server.port)"
            return (
                try await TurnstileProcess.run(["stress", "run", file.path, "--target", target]),
                try await TurnstileProcess.run([
                    "stress", "run", file.path, "--target", target, "--threshold", "errors<=100%",
                ])
            )
        }
        #expect(status == 1, "\(output)")
        #expect(output.contains("FAIL  closed  errors<1% (default)  100.00%"), "\(output)")
        #expect(overridden == 0, "\(overriddenOutput)")
        #expect(!overriddenOutput.contains("(default)"), "\(overriddenOutput)")
    }

    @Test(
        "the tutorial's under-fire file passes as written: fault tables on the console, exit 0",
        .enabled(if: UnderFire.testsRun, "python3 is not on the PATH: the tests of scenario processes are skipped"))
    func underFireAsWritten() async throws {
        let ports = try await UnderFire.ports()
        let (status, output) = try await TurnstileProcess.run(
            [
                "stress", "run", UnderFire.file.path, "--target", "http://127.0.0.1:\(ports["shop_port"]!)", "--set",
                "write_ms=20",
            ] + ports.flatMap { ["--set", "\($0.key)=\($0.value)"] })
        #expect(status == 0, "\(output)")
        #expect(output.contains("Fault store_cut — outage on store_link (127.0.0.1:"), "\(output)")
        #expect(output.contains("PASS  load   buy:p99<2s"), "\(output)")
        #expect(!output.contains("(default)"), "a phase with faults is not held to the default errors bound")
    }

    @Test("SIGTERM to the engine mid-run stops the processes its scenario started: nothing of the run is left running")
    func interruptedRunStopsItsProcesses() async throws {
        let folder = try temporaryFolder("interrupted")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("interrupted.yaml")
        try """
        name: interrupted
        processes:
          - name: dependency
            run: echo $$ > dependency.pid; exec sleep 120
        phases:
          - {name: long, executor: closed, duration: 60s, think: 50ms, request: {name: health, path: /health}}
        """.write(to: file, atomically: true, encoding: .utf8)
        try await LiveServer.with { server in
            try await RunningTurnstile.with(["stress", "run", file.path, "--target", "http://127.0.0.1:\(server.port)"])
            {
                run in
                _ = try await run.line(containing: "long: 1 users in a closed loop")
                let text = try String(contentsOf: folder.appendingPathComponent("dependency.pid"), encoding: .utf8)
                let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
                #expect(Self.isAlive(pid))
                await run.stop()
                // The engine sent it TERM before it exited; give the signal a moment to land.
                let deadline = ContinuousClock.now + .seconds(5)
                while Self.isAlive(pid), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(!Self.isAlive(pid), "process \(pid) outlived the interrupted run")
            }
        }
    }

    /// Whether `pid` runs (a zombie, ended but not yet reaped, does not).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test("check: a sound file prints what it will do; a mistake is one line with file:line:column, exit 3")
    func check() async throws {
        let file = Self.repository.appendingPathComponent("docs/examples/shop.yaml").path
        let (okStatus, okOutput) = try await TurnstileProcess.run(["stress", "check", file, "--set", "buyers=9"])
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("OK — flash sale") && okOutput.contains("buyers=9"), "\(okOutput)")

        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: broken) }
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "<= stock", with: "<= stok")
            .write(to: broken, atomically: true, encoding: .utf8)
        let (status, output) = try await TurnstileProcess.run(["stress", "check", broken.path])
        #expect(status == 3, "\(output)")
        #expect(output.contains("error: \(broken.path):55:31: 'stok' is not defined"), "\(output)")
        #expect(output.split(whereSeparator: \.isNewline).count == 1, "\(output)")

        let (unknownStatus, unknownOutput) = try await TurnstileProcess.run([
            "stress", "run", file, "--set", "seats=3", "--target", "http://127.0.0.1:1",
        ])
        #expect(unknownStatus == 3, "\(unknownOutput)")
        #expect(unknownOutput.contains("has no variable 'seats'; its variables are buyers, stock"), "\(unknownOutput)")
    }

    @Test("a bomb of a file is one line, exit 3, before anything grows; so is an endless answer to a set-up call")
    func hostileFileAndTarget() async throws {
        let folder = try temporaryFolder("hostile")
        defer { try? FileManager.default.removeItem(at: folder) }
        let bomb = folder.appendingPathComponent("bomb.yaml")
        var lines = ["vars:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            lines.append(
                "  \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]")
        }
        try lines.joined(separator: "\n").write(to: bomb, atomically: true, encoding: .utf8)
        for command in ["check", "run"] {
            let (status, output) = try await TurnstileProcess.run(["stress", command, bomb.path])
            #expect(status == 3, "\(output)")
            #expect(output.contains("\(bomb.path):2:6: anchors and aliases"), "\(output)")
            #expect(output.split(whereSeparator: \.isNewline).count == 1, "\(output)")
        }

        // A name that would retitle the terminal and turn it red is shown as escapes, by check and by run.
        let named = folder.appendingPathComponent("named.yaml")
        try """
        name: "evil\\e]0;pwned\\a\\e[31m"
        phases:
          - executor: barrier
            request: {name: look, path: /look}
        """.write(to: named, atomically: true, encoding: .utf8)
        let (checkStatus, checkOutput) = try await TurnstileProcess.run(["stress", "check", named.path])
        #expect(checkStatus == 0, "\(checkOutput)")
        #expect(checkOutput.contains("evil\\x1B]0;pwned\\x07\\x1B[31m") && !checkOutput.contains("\u{1B}"))
        let (runStatus, runOutput) = try await TurnstileProcess.run([
            "stress", "run", named.path, "--target", "http://127.0.0.1:1",
        ])
        #expect(runStatus == 3 && !runOutput.contains("\u{1B}"), "\(runOutput)")

        let scenario = folder.appendingPathComponent("state.yaml")
        try """
        setup:
          - {name: state, path: /state, capture: {size: '$.size'}}
        phases:
          - executor: barrier
            request: {name: look, path: /look}
        """.write(to: scenario, atomically: true, encoding: .utf8)
        let (status, output) = try await HostileTarget.with(.endless) { target in
            try await TurnstileProcess.run([
                "stress", "run", scenario.path, "--target", "http://127.0.0.1:\(target.port)", "--max-answer-size",
                "1MiB",
            ])
        }
        #expect(status == 3, "\(output)")
        #expect(
            output.contains(
                "set-up request 'state' got no usable answer: protocol: the answer is larger than 1.0 MiB, the most "
                    + "kept (--max-answer-size)"), "\(output)")
    }
}
