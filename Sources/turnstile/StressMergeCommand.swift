import ArgumentParser
import Foundation
import TurnstileReport

/// `turnstile stress merge`: one result from the shards of a run.
struct StressMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JSON results of a run's shards into one, with exact global percentiles.",
        discussion: """
            Each machine of a sharded run writes its own --json result. Merging adds the phases of the same name \
            (histograms add, so percentiles stay exact), keeps every shard's invariants, and judges the thresholds \
            on the merged whole. The exit code is the merged run's, as for any suite.
            """)

    @Argument(help: "The shards' JSON results.")
    var files: [String]

    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp("A pass/fail limit on the merged result; repeat for several.", valueName: "limit"))
    var thresholds: [String] = []

    @Option(help: "Write the merged result as JSON to this file.")
    var json: String?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one result file") }
        for threshold in thresholds {
            do { _ = try Threshold(parsing: threshold) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() async throws {
        var merged: RunReport?
        for file in files {
            let shard: RunReport
            do {
                shard = try JSONReport.decode(Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                FileHandle.standardError.write(Data("cannot read \(file) as a Turnstile result: \(error)\n".utf8))
                throw ExitCode(RunExit.couldNotRun)
            }
            if merged == nil { merged = shard } else { merged!.add(shard) }
        }
        var report = merged!
        report.thresholds = ThresholdSet.judge(try thresholds.map { try Threshold(parsing: $0) }, on: report)
        try RunOutput.finish(report, json: json)
    }
}
