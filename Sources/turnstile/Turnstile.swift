import ArgumentParser
import Foundation
import TurnstileReport

/// The one executable. The root only routes to subcommands.
@main
struct Turnstile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turnstile",
        abstract: "Sell scarce things exactly, and prove it under fire.",
        discussion: """
            `turnstile serve` runs the reservation service on an embedded SQLite file. `turnstile stress` drives \
            any HTTP API with races and load, checks the books afterwards and judges thresholds. `turnstile demo` \
            does both: it starts the service and proves it.
            """,
        version: "0.2.0",
        subcommands: [ServeCommand.self, StressCommand.self, DemoCommand.self, ReportCommand.self, ProxyCommand.self]
    )

    /// Parses and runs, with one change to ArgumentParser's defaults: every usage error (a misspelt command, an
    /// unknown flag, a value out of range) is one line on standard error, with the nearest command where one fits,
    /// and exits with 3 ("the run could not be carried out"), the code CI scripts watch for, rather than 64; so does
    /// an error thrown while the command runs.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            guard exitCode(for: error) != .success else { exit(withError: error) }  // --help, --version
            let arguments = Array(CommandLine.arguments.dropFirst())
            FileHandle.standardError.write(Data((UsageError.line(for: error, arguments: arguments) + "\n").utf8))
            Foundation.exit(RunExit.couldNotRun)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            // A run's own exit code (its outcome) stands; anything else thrown while running (a port taken, a child
            // service that did not start) means the run could not be carried out: one line, exit 3, not usage.
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            let line = message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
            FileHandle.standardError.write(Data("error: \(Format.printable(line))\n".utf8))
            Foundation.exit(RunExit.couldNotRun)
        }
    }
}

/// The exit code for a run that could not be carried out.
enum RunExit {
    static let couldNotRun: Int32 = 3
}
