import ArgumentParser
import Foundation
import NIOCore
import TurnstileLoad
import TurnstileReport

/// Flags every run takes, whatever drives it: thresholds, the JSON result, and how long to wait for answers.
struct RunOptions: ParsableArguments {
    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp(
            "A pass/fail limit; repeat for several. E.g. 'p95<500ms', 'book:p99<1s', 'errors<1%', 'rps>100'.",
            valueName: "limit"))
    var thresholds: [String] = []

    @Option(help: "Write the complete, mergeable result as JSON to this file.")
    var json: String?

    @Option(help: "Seconds a response may take in all before it counts as a timeout.")
    var timeout: Double = 30

    @Option(help: "Seconds of silence (nothing received) while awaiting a response before it counts as a timeout.")
    var readTimeout: Double = 10

    var parsedThresholds: [Threshold] { get throws { try thresholds.map { try Threshold(parsing: $0) } } }
    var timeouts: HTTPClientConnection.Timeouts {
        HTTPClientConnection.Timeouts(
            read: .nanoseconds(Int64(min(readTimeout, timeout) * 1e9)), response: .nanoseconds(Int64(timeout * 1e9)))
    }

    func validate() throws {
        do { _ = try parsedThresholds } catch { throw ValidationError("\(error)") }
        guard timeout > 0, readTimeout > 0 else {
            throw ValidationError("--timeout and --read-timeout must be positive")
        }
    }

    /// Prints the report's tables, writes its JSON if asked, and ends the command with its outcome's exit code.
    func finish(_ report: RunReport) throws -> Never {
        try RunOutput.finish(report, json: json)
    }
}

/// Flags every `turnstile stress` suite against an API takes: the target, and the run's own.
struct StressOptions: ParsableArguments {
    @Option(help: "The API under test: an http:// base URL.")
    var target = "http://127.0.0.1:8080"

    @OptionGroup var run: RunOptions

    var loadTarget: LoadTarget { get throws { try LoadTarget(parsing: target) } }
    var parsedThresholds: [Threshold] { get throws { try run.parsedThresholds } }
    var timeouts: HTTPClientConnection.Timeouts { run.timeouts }

    func validate() throws {
        do { _ = try loadTarget } catch { throw ValidationError("\(error)") }
    }

    func finish(_ report: RunReport) throws -> Never {
        try run.finish(report)
    }

    /// Runs `body` as the suite `name` against the target (progress on standard error), judges the thresholds, and
    /// ends the command with the report's exit code.
    func runSuite(_ name: String, _ body: (SuiteContext, inout RunReport) async throws -> Void) async throws -> Never {
        let context = SuiteContext(target: try loadTarget, timeouts: timeouts, progress: ProgressReporter())
        let report = await StressRun.execute(suite: name, target: context.target, thresholds: try parsedThresholds) {
            try await body(context, &$0)
        }
        try finish(report)
    }
}

/// How every run ends: the tables, an optional epilogue (the demo's scorecard), the JSON result if asked for, and
/// the outcome's exit code.
enum RunOutput {
    static func finish(_ report: RunReport, json: String?, epilogue: String? = nil) throws -> Never {
        print(ConsoleRenderer.render(report), terminator: "")
        if let epilogue { print(epilogue) }
        if let json {
            do {
                try JSONReport.encode(report).write(to: URL(fileURLWithPath: json))
                print("Result written to \(json)")
            } catch {
                FileHandle.standardError.write(Data("could not write \(json): \(error)\n".utf8))
                throw ExitCode(RunExit.couldNotRun)
            }
        }
        throw ExitCode(report.outcome.rawValue)
    }
}

/// A length of time on the command line: `10s`, `500ms`, `2m`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let timeAmount: TimeAmount

    init?(argument: String) {
        guard let time = TimeAmount(parsing: argument), time > .zero else { return nil }
        timeAmount = time
    }

    init(seconds: Int64) {
        timeAmount = .seconds(seconds)
    }

    init(milliseconds: Int64) {
        timeAmount = .milliseconds(milliseconds)
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
