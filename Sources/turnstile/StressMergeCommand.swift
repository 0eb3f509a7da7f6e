import ArgumentParser
import Foundation
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

            Examples:
              turnstile stress mixed --run-id nightly-42 --json shard-1.json    # on each machine
              turnstile stress merge shard-*.json --json all.json --threshold 'p99<1s'
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
        let shards = files.map(ResultFile.read)
        do {
            let report = try RunReport.merged(
                shards, thresholds: try thresholds.map { try Threshold(parsing: $0) }, force: force)
            try RunOutput.finish(report, json: json, csv: csv, html: html)
        } catch let error as MergeError {
            ResultFile.fail(error.description)
        }
    }

    /// A decoding error in a few words.
}
