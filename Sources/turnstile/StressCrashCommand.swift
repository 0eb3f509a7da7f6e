import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// `turnstile stress crash`: kill -9 the service in the middle of a race, restart it, and check the books.
struct StressCrashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash",
        abstract: "Kill the service (kill -9) in the middle of a race, restart it, and check that nothing was lost.",
        discussion: """
            Runs the bundled scenario scenarios/crash.yaml (`turnstile stress run` can run it too): it starts \
            `turnstile serve` as a child process on --database (a temporary SQLite file unless given; a postgres:// \
            URL works too), releases --users bookings for --capacity seats, kills the service with SIGKILL once \
            --kill-after answers have arrived, starts it again on the same store, and checks: every acknowledged \
            (201) booking is there, no booking appeared beyond the answers the kill cut off, seats left = capacity \
            − bookings present, and nothing is oversold. A kill that landed after the last answer proved nothing: \
            the run could not be carried out (exit 3).

            Examples:
              turnstile stress crash
              turnstile stress crash --database postgres://turnstile@127.0.0.1:5432/turnstile -c 300 --capacity 150
            """
    )

    @Option(help: "The store: an SQLite file or a postgres:// URL (default: a temporary SQLite file).")
    var database: String?

    @Option(name: [.customLong("users"), .customShort("c")], help: "Buyers, one booking of one seat each.")
    var users = 200

    @Option(help: "Seats of the contested event.")
    var capacity = 100

    @Option(help: "Kill the service once this many answers have arrived.")
    var killAfter = 40

    @OptionGroup var run: RunOptions

    func validate() throws {
        try UserCount.validate(users, minimum: 2)
        guard capacity >= 1, killAfter >= 1, killAfter < users else {
            throw ValidationError("need --capacity ≥ 1 and 1 ≤ --kill-after < --users")
        }
    }

    func run() async throws {
        let (users, capacity, killAfter, database) = (self.users, self.capacity, self.killAfter, self.database)
        try await CommandRun(self.run).perform("crash", target: "a child turnstile serve") { progress in
            await CrashCheck.run(
                users: users, capacity: capacity, killAfter: killAfter, database: database, progress: progress)
        }
    }
}

/// `scenarios/crash.yaml` against a child `turnstile serve` of this very executable, which the scenario starts, kills
/// and restarts: for `stress crash` and the demo. The file's variables are filled in here: the executable, a free
/// port, the store (a temporary SQLite file unless `database` names one), and a fresh JWT secret shared by both of the
/// service's lives, so that the buyers' tokens stay valid across the restart.
enum CrashCheck {
    static func run(
        users: Int = 200, capacity: Int = 100, killAfter: Int = 40, database: String?, progress: ProgressReporter?,
        suite: String = "crash", storeTimeout: String? = nil
    ) async -> RunReport {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-crash-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The child's port is known only once one is free; the report names it then.
        let unstarted = try! LoadTarget(parsing: "http://127.0.0.1")
        return await StressRun.execute(suite: suite, target: unstarted, thresholds: []) { report in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let port = try await LoopbackPort.free()
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
            report.target = target.description
            var overrides: [String: ScenarioValue] = [
                "users": .int(users), "capacity": .int(capacity), "kill_after": .int(killAfter),
                "turnstile": .string(ChildService.executable.path), "port": .int(port),
                "database": .string(database ?? directory.appendingPathComponent("crash.sqlite").path),
                "secret": .string(ChildService.randomSecret()),
            ]
            if let storeTimeout { overrides["store_timeout"] = .string(storeTimeout) }
            let scenario = try BundledScenario.crash.load()
            try await ScenarioRunner(
                scenario, context: SuiteContext(target: target, progress: progress), overrides: overrides,
                logFolder: directory.appendingPathComponent("logs")
            ).run(into: &report)
            // The logs go with the temporary folder: the note would point nowhere.
            report.notes.removeAll { $0.hasPrefix("the processes' output is in ") }
        }
    }
}
