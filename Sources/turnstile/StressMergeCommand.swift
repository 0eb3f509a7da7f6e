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

    @Flag(help: "Merge results of different runs or suites anyway.")
    var force = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one result file") }
        for threshold in thresholds {
            do { _ = try Threshold(parsing: threshold) } catch { throw ValidationError("\(error)") }
        }
        try OutputPath.validate(json, flag: "--json")
        try OutputPath.validateFolder(csv, flag: "--csv")
    }

    func run() async throws {
        var shards: [RunReport] = []
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else { fail("\(file): no such file") }
            guard let data = FileManager.default.contents(atPath: file) else { fail("\(file): cannot be read") }
            do {
                shards.append(try JSONReport.decode(data))
            } catch {
                fail("\(file) is not a Turnstile JSON result (\(Self.describe(error)))")
            }
        }
        do {
            let report = try RunReport.merged(
                shards, thresholds: try thresholds.map { try Threshold(parsing: $0) }, force: force)
            try RunOutput.finish(report, json: json, csv: csv)
        } catch let error as MergeError {
            fail(error.description)
        }
    }

    /// Ends the command with one line on standard error and exit code 3.
    private func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(RunExit.couldNotRun)
    }

    /// A decoding error in a few words.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no '\(key.stringValue)' field"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            context.debugDescription
        default: "\(error)"
        }
    }
}
