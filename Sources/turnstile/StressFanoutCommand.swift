import ArgumentParser
import Foundation
import TurnstileLoad
import TurnstileReport

/// `turnstile stress fanout`: thousands of WebSocket subscribers on one item while bids arrive.
struct StressFanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Subscribe many WebSocket clients to one item's live feed and measure how every bid reaches them.",
        discussion: """
            Opens --connections subscriptions to /api/v1/items/{id}/live (raising this process's open-file limit \
            as far as the system allows), then places --bids bids, --interval apart. Every subscriber must receive \
            every bid, in the order they were placed. Reports the delivery ratio and delivery latency p50/p95/p99, \
            measured from sending each bid to a subscriber reading it. With --embedded, ignores --target and runs \
            the service in-process, whose CPU and memory are then watched too.

            It runs the bundled scenarios/fanout.yaml: `turnstile stress run scenarios/fanout.yaml --set \
            connections=… --set bids=…` gives the same verdict, and a copy of it is the start of a feed test for \
            any API (docs/scenarios.md, "Subscribers").

            Examples:
              turnstile stress fanout --connections 10000 --bids 50
              turnstile stress fanout --embedded -c 1000
            """
    )

    @OptionGroup var options: StressOptions

    @Option(name: [.customLong("connections"), .customShort("c")], help: "WebSocket subscribers on the item.")
    var connections = 1_000

    @Option(help: "Bids placed, one after another.")
    var bids = 50

    @Option(help: "Pause between bids, e.g. 20ms.")
    var interval = DurationArgument(milliseconds: 20)

    @Flag(help: "Run against an embedded service and watch its CPU and memory.")
    var embedded = false

    func validate() throws {
        guard (1...LoadLimits.subscribersMax).contains(connections), bids >= 1 else {
            throw ValidationError("--connections must be 1...\(LoadLimits.subscribersMax), --bids at least 1")
        }
    }

    func run() async throws {
        let scenario = try ScenarioOptions.bundled(
            .fanout,
            [
                "connections": .int(connections), "bids": .int(bids),
                "interval": .string(DurationArgument.describe(interval.timeAmount)),
            ])
        guard embedded else {
            try await CommandRun(options.run).scenarios(
                "fanout", [scenario], target: try options.loadTarget, endpoints: ["bid"])
        }
        let run = CommandRun(options.run)
        // The body ends the command (it never returns): the service is shut down as its exit code passes through.
        try await EmbeddedService.with { target -> Void in
            try await run.scenarios("fanout", [scenario], target: target, endpoints: ["bid"], embedded: true)
        }
    }
}
