import ArgumentParser
import Foundation

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
        subcommands: [ServeCommand.self, StressCommand.self, DemoCommand.self, ProxyCommand.self]
    )

    /// Parses and runs, with one change to ArgumentParser's defaults: bad flags given to `stress` or `demo` exit
    /// with 3 ("the run could not be carried out"), the code CI scripts watch for, rather than 64.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let isRun = ["stress", "demo"].contains(CommandLine.arguments.dropFirst().first ?? "")
            if isRun, exitCode(for: error) != .success {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(RunExit.couldNotRun)
            }
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The exit code for a run that could not be carried out.
enum RunExit {
    static let couldNotRun: Int32 = 3
}
