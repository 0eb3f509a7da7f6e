import NIOCore
import NIOPosix
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// The orders, credits, bids and fan-out suites against the real service on 127.0.0.1: each must pass with the
/// exact counts its rules name.
@Suite("Resource suites", .serialized, .timeLimit(.minutes(2)))
struct ResourceSuiteTests {
    @Test("orders: 20 buyers for 5 units give exactly 5 orders; the pay/ship/cancel mix keeps the stock whole")
    func orders() async throws {
        let report = try await run("orders", users: 30) { target, users, report in
            let suite = OrdersSuite(SuiteContext(target: target))
            try await suite.runDrop(OrdersSuite.classicDrop, users: users, into: &report)
            try await suite.runLifecycle(users: users, into: &report)
        }
        #expect(report.outcome == .passed)
        #expect(report.invariants.count == 10 && report.invariants.allSatisfy(\.passed))
        let drop = try #require(report.phases.first)
        #expect(drop.overall.count(status: 201) == 5 && drop.overall.count(status: 409) == 15)
        // Ten of the thirty orders are cancelled and then paid: those ten payments are refused.
        let lifecycle = try #require(report.phases.last)
        #expect(lifecycle.endpoints.first { $0.name == "pay" }?.count(status: 409) == 10)
    }

    @Test("credits: 50 deductions of 5 from 100 give exactly 20 × 200 and 30 × 402, balance 0 = the ledger's sum")
    func credits() async throws {
        let report = try await run("credits", users: 1) { target, users, report in
            try await CreditsSuite(SuiteContext(target: target))
                .run(CreditsSuite.classic, user: users[0], into: &report)
        }
        #expect(report.outcome == .passed)
        #expect(report.invariants.count == 7 && report.invariants.allSatisfy(\.passed))
        let phase = try #require(report.phases.first)
        #expect(phase.overall.count(status: 200) == 20 && phase.overall.count(status: 402) == 30)
    }

    @Test("bids: rounds of simultaneous bids leave strictly increasing accepted bids and report bids per second")
    func bids() async throws {
        let report = try await run("bids", users: 25) { target, users, report in
            try await BidsSuite(SuiteContext(target: target))
                .run(.init(bidders: 25, rounds: 3), users: users, into: &report)
        }
        #expect(report.outcome == .passed)
        #expect(report.invariants.count == 6 && report.invariants.allSatisfy(\.passed))
        let phase = try #require(report.phases.first)
        #expect(phase.overall.requests == 75)
        // The first round's lowest bid always wins; every round's highest bid is above all earlier ones.
        #expect(phase.overall.count(status: 201) >= 3)
        #expect(report.notes.contains { $0.contains("75 bids answered") })
    }

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
