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
            every bid, in seq order. Reports the delivery ratio and delivery latency p50/p95/p99, measured from \
            sending each bid to a subscriber reading it. With --embedded, ignores --target, runs the service \
            in-process and reports its resident memory too.

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

    @Flag(help: "Run against an embedded service and report its memory.")
    var embedded = false

    func validate() throws {
        guard connections >= 1, bids >= 1 else { throw ValidationError("--connections and --bids must be at least 1") }
    }

    func run() async throws {
        let shape = FanoutSuite.Shape(connections: connections, bids: bids, interval: interval.timeAmount)
        let thresholds = try options.parsedThresholds
        let timeouts = options.timeouts
        let target = embedded ? nil : try options.loadTarget
        try await options.run.perform(
            "fanout", target: target?.description ?? "the embedded service", embedded: embedded
        ) { progress in
            guard let target else {
                return try await EmbeddedService.with { target in
                    await Self.fanout(
                        shape, target: target, thresholds: thresholds, timeouts: timeouts, progress: progress,
                        memory: true)
                }
            }
            return await Self.fanout(
                shape, target: target, thresholds: thresholds, timeouts: timeouts, progress: progress, memory: false)
        }
    }

    static func fanout(
        _ shape: FanoutSuite.Shape, target: LoadTarget, thresholds: [Threshold],
        timeouts: HTTPClientConnection.Timeouts, progress: ProgressReporter, memory: Bool
    ) async -> RunReport {
        let context = SuiteContext(target: target, timeouts: timeouts, progress: progress)
        return await StressRun.execute(suite: "fanout", target: target, thresholds: thresholds) {
            try await FanoutSuite(context).run(
                shape, bidder: try await context.provision(1)[0], residentMemory: memory ? ResidentMemory.bytes : nil,
                into: &$0)
        }
    }
}

/// This process's resident memory, from /proc (nil where there is none).
enum ResidentMemory {
    @Sendable static func bytes() -> Int? {
        ResourceWatcher.ProcessStats.read().map { Int($0.residentBytes) }
    }
}
