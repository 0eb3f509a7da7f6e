import ArgumentParser
import Foundation
import Synchronization
import TurnstileLoad
import TurnstileReport

/// `turnstile stress crash`: kill -9 the service in the middle of a race, restart it, and check the books.
struct StressCrashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash",
        abstract: "Kill the service (kill -9) in the middle of a race, restart it, and check that nothing was lost.",
        discussion: """
            Starts `turnstile serve` as a child process on --database (a temporary SQLite file unless given; a \
            postgres:// URL works too), releases --users bookings for --capacity seats, kills the service with \
            SIGKILL once --kill-after answers have arrived, starts it again on the same store, and checks: every \
            acknowledged (201) booking is there, no booking appeared beyond the answers the kill cut off, seats \
            left = capacity − bookings present, and nothing is oversold.

            Examples:
              turnstile stress crash
              turnstile stress crash --database postgres://turnstile@127.0.0.1:5432/turnstile -c 300 --capacity 150
            """
    )

    @Option(help: "The store: an SQLite file or a postgres:// URL (default: a temporary SQLite file).")
    var database: String?

    @Option(name: [.customLong("users"), .customShort("c")], help: "Buyers, one booking of one seat each.")
    var users = CrashSuite.classic.buyers

    @Option(help: "Seats of the contested event.")
    var capacity = CrashSuite.classic.seats

    @Option(help: "Kill the service once this many answers have arrived.")
    var killAfter = CrashSuite.classic.killAfterAnswers

    @OptionGroup var run: RunOptions

    func validate() throws {
        try UserCount.validate(users, minimum: 2)
        guard capacity >= 1, killAfter >= 1, killAfter < users else {
            throw ValidationError("need --capacity ≥ 1 and 1 ≤ --kill-after < --users")
        }
    }

    func run() async throws {
        let race = CrashSuite.Race(buyers: users, seats: capacity, killAfterAnswers: killAfter)
        try await self.run.perform("crash", target: "a child turnstile serve") { progress in
            await CrashCheck.run(race, database: database, progress: progress)
        }
    }
}

/// The crash suite against a child `turnstile serve` that it kills and restarts: for `stress crash` and the demo.
enum CrashCheck {
    static func run(
        _ race: CrashSuite.Race, database: String?, progress: ProgressReporter?, suite: String = "crash",
        serveArguments: [String] = []
    ) async -> RunReport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-crash-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = database ?? directory.appendingPathComponent("crash.sqlite").path
        // One secret for both lives of the service, so that the buyers' tokens stay valid across the restart.
        let secret = ChildService.randomSecret()
        let arguments =
            [
                "--database", store, "--jwt-secret", secret, "--password-hash-rounds", "1", "--rate-limit",
                "off", "--auth-rate-limit", "off",
            ] + serveArguments
        let running = Mutex<ChildService?>(nil)
        defer { if let child = running.withLock({ $0 }), child.process.isRunning { child.process.terminate() } }
        // The child's port is known only once it runs; the report names it then.
        let unstarted = try! LoadTarget(parsing: "http://127.0.0.1")
        return await StressRun.execute(suite: suite, target: unstarted, thresholds: []) { report in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let first = try await ChildService.start(arguments)
            running.withLock { $0 = first }
            progress?.targetStarted(first.process.processIdentifier, describe: "the child turnstile serve")
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(first.port)")
            report.target = target.description
            try await CrashSuite(SuiteContext(target: target, progress: progress)).run(
                race,
                crash: { await first.kill() },
                restart: {
                    let second = try await ChildService.start(arguments)
                    running.withLock { $0 = second }
                    progress?.targetStarted(second.process.processIdentifier, describe: "the restarted turnstile serve")
                    return try LoadTarget(parsing: "http://127.0.0.1:\(second.port)")
                },
                into: &report)
            if let last = running.withLock({ $0 }) { await last.stop() }
        }
    }
}
