import NIOCore
import NIOPosix
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// The fan-out suite against the real service on 127.0.0.1: it must pass with the exact counts its rules name.
/// (Orders, credits and bids are bundled scenarios: see `BundledScenarioTests`.)
@Suite("Resource suites", .serialized, .timeLimit(.minutes(2)))
struct ResourceSuiteTests {
    @Test("fanout: every one of 50 subscribers receives all 10 bids in order")
    func fanout() async throws {
        let report = try await run("fanout", users: 1) { target, users, report in
            try await FanoutSuite(SuiteContext(target: target))
                .run(.init(connections: 50, bids: 10, interval: .milliseconds(1)), bidder: users[0], into: &report)
        }
        #expect(report.outcome == .passed)
        #expect(report.invariants.count == 4 && report.invariants.allSatisfy(\.passed))
        let deliveries = try #require(report.phases.first?.endpoints.first { $0.name == "deliver" })
        #expect(deliveries.responses == 500)
    }

    @Test("the fan-out tally finds each message's seq and counts gaps and reorderings")
    func tally() async throws {
        #expect(FanoutTally.seq(in: ByteBuffer(string: #"{"type":"bid","seq":12,"item_id":3}"#)) == 12)
        #expect(FanoutTally.seq(in: ByteBuffer(string: #"{"type":"subscribed","item_id":3}"#)) == nil)
        #expect(FanoutTally.seq(in: ByteBuffer(string: #"{"seq":"#)) == nil)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let tally = FanoutTally(bids: 3, expected: 6)
        let now = NIODeadline.now()
        for seq in [1, 2, 3] { tally.sent(seq: seq, at: now) }
        let receipts = [FanoutTally.Receipts(), FanoutTally.Receipts()]
        try await loop.submit {
            for (subscriber, seq) in [(0, 1), (0, 2), (0, 3), (1, 1), (1, 3), (1, 2)] {
                tally.record(
                    .message(ByteBuffer(string: #"{"type":"bid","seq":\#(seq)}"#), receivedAt: now),
                    into: receipts[subscriber])
            }
        }.get()
        #expect(await tally.waitUntilComplete(orFor: .seconds(5)))
        let outcome = try await tally.outcome(of: receipts.map { ($0, loop) })
        #expect(outcome.delivered == 6)
        #expect(outcome.outOfOrder == 2)
        #expect(outcome.deliveries.responses == 6)
    }

    /// Runs `body` as a suite against a fresh live server, with `users` provisioned for it.
    private func run(
        _ suite: String, users count: Int,
        _ body: @escaping @Sendable (LoadTarget, [VirtualUser], inout RunReport) async throws -> Void
    ) async throws -> RunReport {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let users = try await SuiteContext(target: target).provision(count)
            let report = await StressRun.execute(suite: suite, target: target, thresholds: []) { report in
                try await body(target, users, &report)
            }
            #expect(report.failure == nil)
            return report
        }
    }
}
