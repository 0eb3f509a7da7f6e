import ArgumentParser
import Foundation
import NIOCore
import TurnstileLoad
import TurnstileReport
import TurnstileCore
import TurnstileStore

/// `turnstile demo`: the whole proof in one command. Starts the embedded service and runs the engine against it.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Start the embedded service and prove it: every resource raced, live feeds, mixed traffic, a scorecard.",
        discussion: """
            Runs `turnstile serve` in-process on 127.0.0.1 (an ephemeral port, a temporary SQLite file with full \
            durability), then the race grid (100→10, 300→299, 300×10→10), the last-item drop (20 buyers → 5 \
            units) and an order lifecycle, 50 deductions of 5 from 100 credits, 100 bidders on one item, 1,000 \
            WebSocket subscribers watching its bids, a mixed run, bad inputs made from every ordinary request and the \
            catalogue of raw ones (each must get its \
            4xx), checking the books after each; then a crash: a second service, a child process, is killed with \
            SIGKILL in the middle of a race and restarted, and every acknowledged booking must survive; then \
            read-heavy throughput with the read cache on and off, side by side. Prints a scorecard, writes the \
            JSON result, and exits non-zero if anything failed (the codes of `turnstile stress`).

            Examples:
              turnstile demo
              turnstile demo --duration 10s --users 100 --json proof.json
              turnstile demo --http2
            """
    )

    @Option(
        help: ArgumentHelp("Write the complete result as JSON to this file ('-': standard output).", valueName: "file"))
    var json = "turnstile-demo.json"

    @Option(
        help: ArgumentHelp(
            "Also write stats.csv, history.csv and invariants.csv into this folder.", valueName: "folder"))
    var csv: String?

    @Option(help: ArgumentHelp("Write the HTML report to this file.", valueName: "file"))
    var html = "turnstile-demo.html"

    @Option(name: [.customLong("duration"), .customShort("d")], help: "Length of each load phase, e.g. 5s.")
    var duration = DurationArgument(seconds: 5)

    @Option(name: [.customLong("users"), .customShort("c")], help: "Virtual users for the load phases.")
    var users = 50

    @Option(help: "How long a store call may take before the service answers 503 (as for serve), e.g. 1s.")
    var storeTimeout = DurationArgument(StoreTimeouts().writeAnswer)

    @Flag(
        help: ArgumentHelp(
            "Serve the embedded service over HTTPS with a throwaway self-signed certificate and race it over HTTP/2: "
                + "the race grid's releases are single-packet.",
            discussion: "The crash check's and the cache comparison's services stay on HTTP/1.1."))
    var http2 = false

    @OptionGroup var live: LiveOptions

    func validate() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard storeTimeout.timeAmount >= .milliseconds(10) else {
            throw ValidationError("--store-timeout must be at least 10ms.")
        }
        try OutputPath.validate(json, flag: "--json")
        try OutputPath.validateFolder(csv, flag: "--csv")
        try OutputPath.validate(html, flag: "--html")
    }

    /// The load phases' users and length, as the bundled mixed and throughput files name them.
    private var loadVariables: [String: ScenarioValue] {
        ["users": .int(users), "duration": .string(DurationArgument.describe(duration.timeAmount))]
    }

    private var storeTimeouts: StoreTimeouts {
        StoreTimeouts(bound: .nanoseconds(storeTimeout.timeAmount.nanoseconds))
    }

    func run() async throws {
        try await LiveRun(live).perform(suite: "demo", target: "the embedded service", embedded: true) { progress in
            var report = try await EmbeddedService.with(storeTimeouts: storeTimeouts, http2: http2) { target in
                await prove(target: target, progress: progress)
            }
            if report.failure == nil { await crashDurability(progress: progress, into: &report) }
            var withComparison = report
            if report.failure == nil {
                do {
                    try await EmbeddedService.compareCache(
                        (try BundledScenario.throughput.load(), loadVariables), timeouts: .init(),
                        progress: progress, storeTimeouts: storeTimeouts, into: &withComparison)
                } catch {
                    withComparison.failure = "the cache comparison failed: \(error)"
                }
            }
            return withComparison
        } output: { report in
            RunOutput.write(report, json: json, csv: csv, html: html, epilogue: Scorecard.render(report))
        }
    }

    /// The proof against one embedded service: the race grid, every other resource, the live feed, then mixed
    /// traffic.
    private func prove(target: LoadTarget, progress: ProgressReporter) async -> RunReport {
        let context = SuiteContext(target: target, progress: progress)
        progress.note("Turnstile demo: the service is listening on \(target)")
        return await StressRun.execute(suite: "demo", target: target, thresholds: []) { report in
            // The bundled scenarios, on users provisioned once and shared (each registers and logs in only the
            // users the scenarios before it did not): the race grid, the drop, the lifecycle, credits, bids, the
            // live feed, mixed traffic and the bad inputs.
            let pool = ScenarioUserPool()
            let race = try BundledScenario.race.load()
            let scenarios: [(ScenarioFile, [String: ScenarioValue])] = [
                (race, ["users": 100, "capacity": 10]), (race, ["users": 300, "capacity": 299]),
                (race, ["users": 300, "capacity": 10, "amount": 10]), (try BundledScenario.orders.load(), [:]),
                (try BundledScenario.ordersLifecycle.load(), [:]), (try BundledScenario.credits.load(), [:]),
                (try BundledScenario.bids.load(), [:]), (try BundledScenario.fanout.load(), ["bids": 20]),
                (try BundledScenario.mixed.load(), loadVariables),
            ]
            for (scenario, overrides) in scenarios {
                try await ScenarioRunner(scenario, context: context, overrides: overrides, pool: pool).run(
                    into: &report)
            }
            try await ScenarioRunner(try BundledScenario.edge.load(), context: context, pool: pool).run(into: &report)
            try await EdgeSuite(context).run(pool: pool, into: &report)
        }
    }

    /// kill -9 in the middle of a race, on a service of its own (a child process over a temporary SQLite file).
    private func crashDurability(progress: ProgressReporter, into report: inout RunReport) async {
        let crash = await CrashCheck.run(
            database: nil, progress: progress, storeTimeout: storeTimeout.defaultValueDescription)
        report.invariants += crash.invariants
        report.notes += crash.notes
        if let failure = crash.failure { report.failure = "the crash check failed: \(failure)" }
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
            var highlight =
                "\(Format.rate(phase.rate(overall))), p99 \(Format.microseconds(overall.latency.percentile(99)))"
            if let spread = phase.releaseSpreadMicroseconds {
                let statuses = overall.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }
                highlight = statuses.joined(separator: " ") + ", spread \(Format.microseconds(spread))"
            }
            rows.append([
                invariants.allSatisfy(\.passed) ? "PASS" : "FAIL", phase.name, highlight,
                "\(held)/\(invariants.count) invariants",
            ])
        }
        // Live feeds, by what their subscribers received (their invariants are their scenario's phase's).
        for feed in report.feeds {
            let p99 = feed.latency.isEmpty ? "not measured" : Format.microseconds(feed.latency.percentile(99))
            rows.append([
                feed.delivered == feed.expected && feed.outOfOrder == 0 && feed.dropped == 0 ? "PASS" : "FAIL",
                "feed \(feed.name) (\(feed.connected) subscribers)",
                "\(feed.delivered) of \(feed.expected) delivered, p99 \(p99)", "—",
            ])
        }
        // Checks without a load phase of their own (bad inputs, the crash) get a row of their own too.
        let loadPhases = Set(report.phases.map(\.name))
        var checkPhases: [String] = []
        for invariant in report.invariants where !loadPhases.contains(invariant.phase) {
            if !checkPhases.contains(invariant.phase) { checkPhases.append(invariant.phase) }
        }
        for phase in checkPhases {
            let invariants = report.invariants.filter { $0.phase == phase }
            let held = invariants.filter(\.passed).count
            rows.append([
                held == invariants.count ? "PASS" : "FAIL", phase, "\(invariants.count) checks",
                "\(held)/\(invariants.count) invariants",
            ])
        }
        return "Scorecard\n" + ConsoleRenderer.table(header: ["", "phase", "result", "books"], rows: rows)
            + "Turnstile demo: \(ConsoleRenderer.verdict(report.outcome))"
    }
}
