import ArgumentParser

/// `turnstile stress`: the load and race engine. Routes to its suites.
struct StressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract: "Race, load and check any HTTP API; exit codes for CI.",
        discussion: """
            Each suite provisions its own users (each with their own account and token), drives traffic, reads the \
            target's state back and checks the business invariants, then judges --threshold limits. The races \
            (race, orders, credits, bids) are scenario files; `stress run FILE` runs one written for any other \
            HTTP API (docs/scenarios.md).

            Exit codes:
              0  every invariant held and every threshold passed
              1  a threshold was breached
              2  an invariant was broken (oversold, undersold, lost or phantom writes)
              3  the run could not be carried out (unreachable target, bad flags)
            """,
        subcommands: [
            StressRaceCommand.self, StressURLCommand.self, StressMixedCommand.self, StressThroughputCommand.self,
            StressBreakingPointCommand.self, StressOrdersCommand.self, StressCreditsCommand.self,
            StressBidsCommand.self, StressFanoutCommand.self, StressEdgeCommand.self, StressCrashCommand.self,
            StressFaultsCommand.self, StressRunCommand.self, StressCheckCommand.self, StressPrepareCommand.self,
            StressMergeCommand.self,
        ]
    )
}
