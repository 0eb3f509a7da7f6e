import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// `turnstile stress merge`: one result from the shards of a run.
struct StressMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JSON results of a run's shards into one, with exact global percentiles.",
        discussion: """
            Each machine of a sharded run writes its own --json result; start every shard with the same --run-id. \
            Merging adds the phases of the same name (histograms add, so percentiles stay exact), keeps every \
            shard's invariants, and judges every threshold, each shard's own and those given here, on the merged \
            whole. Results of different runs or suites are refused unless --force. The exit code is the merged \
            run's, as for any suite.

            The shards of one scenario run with --shard (docs/distributed.md) are judged as one run here: every \
            shard must be present (--allow-missing judges without the missing or failed ones, and names them), the \
            read-back the file sends once is sent now, against --target, as the prepared run's first user \
            (--prepared), and every invariant is judged on the shards' counts and per-user values together. How \
            far apart the shards released, by their own clocks, and how well those agree, is in the notes; a shard \
            that was not ready at --start-at makes the run "could not be carried out".

            Examples:
              turnstile stress mixed --run-id nightly-42 --json shard-1.json    # on each machine
              turnstile stress merge shard-*.json --json all.json --threshold 'p99<1s'
              turnstile stress merge shard-*.json --target http://10.0.0.5:8080 --prepared run.json --json race.json
            """)

    @Argument(help: "The shards' JSON results.")
    var files: [String]

    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp("A pass/fail limit on the merged result; repeat for several.", valueName: "limit"))
    var thresholds: [String] = []

    @Option(
        help: ArgumentHelp("Write the merged result as JSON to this file ('-': standard output).", valueName: "file"))
    var json: String?

    @Option(
        help: ArgumentHelp(
            "Write stats.csv, history.csv and invariants.csv of the merged result into this folder.",
            valueName: "folder"))
    var csv: String?

    @Option(help: ArgumentHelp("Write the merged result as a self-contained HTML report.", valueName: "file"))
    var html: String?

    @Flag(help: "Merge results of different runs or suites anyway.")
    var force = false

    @Option(help: "For the shards of a scenario run: the API the read-back is sent to, once, before judging.")
    var target: String?

    @Option(help: ArgumentHelp("The shards' prepared run: its first user sends the read-back.", valueName: "file"))
    var prepared: String?

    @Flag(help: "Judge the shards given even if some are missing or could not be carried out (they are named).")
    var allowMissing = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one result file") }
        for threshold in thresholds {
            do { _ = try Threshold(parsing: threshold) } catch { throw ValidationError("\(error)") }
        }
        try OutputPath.validate(json, flag: "--json")
        try OutputPath.validateFolder(csv, flag: "--csv")
        try OutputPath.validate(html, flag: "--html")
    }

    func run() async throws {
        let results = files.map(ResultFile.read)
        do {
            let report = try await ShardedRun.merge(
                results, thresholds: try thresholds.map { try Threshold(parsing: $0) }, force: force,
                allowMissing: allowMissing, target: try target.map { try LoadTarget(parsing: $0) },
                prepared: prepared)
            try RunOutput.finish(report, json: json, csv: csv, html: html)
        } catch let error as MergeError {
            ResultFile.fail(error.description)
        } catch let error as ScenarioError {
            throw ScenarioOptions.fail(error)
        }
    }
}
