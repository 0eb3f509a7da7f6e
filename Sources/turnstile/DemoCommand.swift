import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TurnstileLoad
import TurnstileReport
import TurnstileSQLite
import TurnstileServer

/// `turnstile demo`: the whole proof in one command. Starts the embedded service and runs the engine against it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the embedded service and prove it: races, read throughput and mixed traffic, then a scorecard.",
        discussion: """
            Runs `turnstile serve` in-process on 127.0.0.1 (an ephemeral port, a temporary SQLite file with full \
            durability), then the race grid (100→10, 300→299, 300×10→10), read-heavy throughput and a mixed run, \
            checking the books after each. Prints a scorecard, writes the JSON result, and exits non-zero if \
            anything failed (the codes of `turnstile stress`).
            """
    )

    @Option(help: "Write the complete result as JSON to this file.")
    var json = "turnstile-demo.json"

    @Option(help: "Length of each load phase, e.g. 5s.")
    var duration = DurationArgument(seconds: 5)

    @Option(help: "Virtual users for the load phases.")
    var users = 50

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
    }

    func run() async throws {
        var logger = Logger(label: "turnstile.demo")
        logger.logLevel = .warning
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let store = try await SQLiteStore.open(
            SQLiteStoreConfiguration(path: directory.appendingPathComponent("demo.sqlite").path), logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var secret = SystemRandomNumberGenerator()
        // The demo's accounts are throwaway: a light password hash keeps provisioning hundreds of them quick.
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, jwtSecret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &secret) },
            passwordHashRounds: 1_000)
        let server = Server(configuration: configuration, store: store, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let services = ServiceGroup(
            configuration: .init(services: [server.application()], gracefulShutdownSignals: [], logger: logger))

        let report = try await withThrowingTaskGroup(of: RunReport?.self) { tasks in
            tasks.addTask {
                try await services.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ValidationError("the embedded service did not start") }
            let report = await prove(target: try LoadTarget(parsing: "http://127.0.0.1:\(port)"))
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return report
        }

        print(ConsoleRenderer.render(report), terminator: "")
        print(Scorecard.render(report))
        do {
            try JSONReport.encode(report).write(to: URL(fileURLWithPath: json))
            print("Full result written to \(json)")
        } catch {
            FileHandle.standardError.write(Data("could not write \(json): \(error)\n".utf8))
            throw ExitCode(RunExit.couldNotRun)
        }
        throw ExitCode(report.outcome.rawValue)
    }

    private func prove(target: LoadTarget) async -> RunReport {
        let group = MultiThreadedEventLoopGroup.singleton
        let progress = ProgressReporter()
        let timeouts = HTTPClientConnection.Timeouts()
        progress.note("Turnstile demo: the service is listening on \(target)")
        return await StressRun.execute(suite: "demo", target: target, thresholds: []) { report in
            let needed = max(RaceSuite.grid.map(\.users).max() ?? 0, users)
            progress.note("provisioning \(needed) users (each with their own account and token)…")
            let provisioned = try await Provisioner(target: target, group: group, timeouts: timeouts)
                .provision(needed, progress: progress)
            try await RaceSuite(target: target, group: group, timeouts: timeouts, progress: progress)
                .run(RaceSuite.grid, into: &report, users: provisioned)
            let loadUsers = Array(provisioned.prefix(users))
            for (mix, name) in [(MixedSuite.Mix.readHeavy, "throughput"), (.classic, "mixed")] {
                try await MixedSuite(mix: mix, target: target, group: group, timeouts: timeouts, progress: progress)
                    .run(name, users: loadUsers, duration: duration.timeAmount, into: &report)
            }
        }
    }
}

/// The demo's closing summary: one line per phase and the verdict.
enum Scorecard {
    static func render(_ report: RunReport) -> String {
        var rows: [[String]] = []
        for phase in report.phases {
            let invariants = report.invariants.filter { $0.phase == phase.name }
            let held = invariants.filter(\.passed).count
            let overall = phase.overall
            var highlight = "\(Format.rate(phase.rate(overall))), p99 \(Format.microseconds(overall.latency.percentile(99)))"
            if let spread = phase.releaseSpreadMicroseconds {
                highlight = "201×\(overall.count(status: 201)) 409×\(overall.count(status: 409)), spread \(Format.microseconds(spread))"
            }
            rows.append([
                invariants.allSatisfy(\.passed) ? "PASS" : "FAIL", phase.name, highlight,
                "\(held)/\(invariants.count) invariants",
            ])
        }
        return "Scorecard\n" + ConsoleRenderer.table(header: ["", "phase", "result", "books"], rows: rows)
            + "Turnstile demo: \(ConsoleRenderer.verdict(report.outcome))"
    }
}
