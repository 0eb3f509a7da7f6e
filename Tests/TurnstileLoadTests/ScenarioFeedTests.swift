import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// Live-feed subscribers in scenario files, against a feed that is not Turnstile's: a thousand watchers on loopback,
/// over WebSocket and over Server-Sent Events, each receiving every event the scenario's requests caused.
@Suite("Scenario subscribers", .serialized, .timeLimit(.minutes(2)))
struct ScenarioFeedTests {
    /// 4 users quote 5 rounds of prices, each price a key of its own: 20 events, to every watcher.
    static let prices = """
        name: prices
        vars: { watchers: 1000 }
        users: { count: 4 }
        subscribers:
          - name: watchers
            count: watchers
            url: /prices/live
            subscribe: '{"watch": "prices"}'
            ready: message
            key: body.price.value
            grace: 10s
        phases:
          - name: quotes
            executor: barrier
            rounds: 5
            request:
              name: quote
              method: POST
              path: /prices
              body: { value: "${round * 100 + user}" }
              publishes: round * 100 + user
              expect: [201]
        invariants:
          - { name: every watcher got every price, check: feeds.watchers.delivered == feeds.watchers.expected }
          - { name: twenty prices, check: feeds.watchers.events == 20 }
          - { name: in the order they happened, check: feeds.watchers.out_of_order == 0 }
          - { name: nothing the scenario did not cause, check: feeds.watchers.stray == 0 }
          - { name: no watcher dropped, check: feeds.watchers.dropped == 0 }
        """

    static let stream =
        prices
        .replacingOccurrences(of: "    url: /prices/live\n", with: "    url: /prices/stream\n    kind: sse\n")
        .replacingOccurrences(of: "    subscribe: '{\"watch\": \"prices\"}'\n    ready: message\n", with: "")

    @Test("1,000 WebSocket watchers each receive all 20 prices; latency is measured from each quote's sending")
    func webSocketWatchers() async throws {
        try await PriceFeed.with { feed in
            let report = try await run(Self.prices, port: feed.port)
            #expect(report.outcome == .passed, "\(report.reasons) \(report.failure ?? "")")
            let watchers = try #require(report.feeds.first)
            #expect(watchers.kind == "websocket" && watchers.connected == 1_000 && watchers.events == 20)
            #expect(watchers.delivered == 20_000 && watchers.expected == 20_000 && !watchers.gaveUpWaiting)
            #expect(watchers.latency.count == 20_000 && watchers.connectLatency.count == 1_000)
            // Each watcher's "watching" answer is a message that names no event.
            #expect(watchers.ignored == 1_000 && watchers.stray == 0)
            #expect(report.notes.contains(watchers.note))
            let decoded = try JSONReport.decode(try JSONReport.encode(report))
            #expect(decoded.feeds == report.feeds)
        }
    }

    @Test("1,000 Server-Sent Events watchers each receive all 20 prices")
    func serverSentEventWatchers() async throws {
        try await PriceFeed.with { feed in
            let report = try await run(Self.stream, port: feed.port)
            #expect(report.outcome == .passed, "\(report.reasons)")
            let watchers = try #require(report.feeds.first)
            #expect(watchers.kind == "sse" && watchers.delivered == 20_000 && watchers.ignored == 0)
        }
    }

    @Test("an event named by the answer (an id the server gives it) is correlated as one named when sent")
    func keyFromTheAnswer() async throws {
        try await PriceFeed.with { feed in
            let yaml = Self.prices.replacingOccurrences(
                of: "publishes: round * 100 + user", with: "publishes: body.accepted"
            )
            .replacingOccurrences(of: "watchers: 1000", with: "watchers: 50")
            let report = try await run(yaml, port: feed.port)
            #expect(report.outcome == .passed, "\(report.reasons)")
            #expect(report.feeds.first.map { $0.delivered == 1_000 && $0.events == 20 } == true)
        }
        let mixed = Self.prices.replacingOccurrences(
            of: "publishes: round * 100 + user", with: "publishes: body.accepted + round")
        #expect(throws: ScenarioError.self) { try ScenarioFile(yaml: mixed, file: "prices.yaml") }
    }

    @Test("a feed that loses events for some watchers breaks 'every watcher got every price': exit 2")
    func lossyFeed() async throws {
        try await PriceFeed.with(dropsEvery: 10) { feed in
            let yaml = Self.prices.replacingOccurrences(of: "grace: 10s", with: "grace: 1s")
            let report = try await run(yaml, port: feed.port)
            #expect(report.outcome == .invariantBroken, "\(report.reasons)")
            let watchers = try #require(report.feeds.first)
            // A hundred watchers (every tenth) missed every other price: 10 each.
            #expect(watchers.delivered == 20_000 - 100 * 10 && watchers.gaveUpWaiting)
            #expect(report.invariants.first { !$0.passed }?.rule == "every watcher got every price")
        }
    }

    @Test("mistakes in subscribers are errors at their place")
    func mistakes() {
        func error(_ yaml: String) -> String {
            do {
                _ = try ScenarioFile(yaml: yaml, file: "prices.yaml")
                return "no error"
            } catch { return error.description }
        }
        #expect(
            error(Self.prices.replacingOccurrences(of: "body.price.value", with: "price.value"))
                .contains("'key' reads a message's JSON as 'body' (body.bid.amount), not 'price'"))
        #expect(
            error(Self.prices.replacingOccurrences(of: "feeds.watchers.stray", with: "feeds.watcher.stray"))
                .contains("no subscribers named 'watcher'; they are watchers (did you mean 'watchers'?)"))
        #expect(
            error(Self.prices.replacingOccurrences(of: "feeds.watchers.stray", with: "feeds.watchers.strays"))
                .contains("(did you mean 'stray'?)"))
        #expect(
            error(Self.stream.replacingOccurrences(of: "kind: sse", with: "kind: sse\n    subscribe: hi"))
                .contains("'subscribe' sends a WebSocket message; SSE has none"))
        #expect(
            error(Self.prices.replacingOccurrences(of: "ready: message", with: "ready: soon"))
                .contains("'ready' is connected"))
    }

    private func run(_ yaml: String, port: Int) async throws -> RunReport {
        let scenario = try ScenarioFile(yaml: yaml, file: "prices.yaml")
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        return await StressRun.execute(
            suite: scenario.name, target: target, thresholds: [], endpoints: scenario.endpoints
        ) {
            report in
            try await ScenarioRunner(scenario, context: SuiteContext(target: target)).run(into: &report)
        }
    }
}

/// The bound on what a group of subscribers keeps: a flooding feed is counted, not kept.
@Suite("Feed receipts")
struct FeedReceiptTests {
    @Test("past the most kept, keyed messages are counted as not kept and the feed is not judged complete")
    func floodIsBounded() async throws {
        let tally = FeedTally(keptMax: 5) { message in
            ScenarioValue(jsonBytes: message.readableBytesView).flatMap { body in
                if case .object(let fields) = body { return fields["n"] }
                return nil
            }
        }
        let ledger = FeedLedger()
        let now = NIODeadline.now()
        for key in 1...3 { ledger.record(.int(key), sentAt: now, answeredAt: now, accepted: true) }
        let receipts = FeedTally.Receipts()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        try await loop.submit {
            // Three events, then a flood of five more of the same and of others.
            for key in [1, 2, 3, 1, 2, 9, 9, 9] {
                tally.record(.message(ByteBuffer(string: #"{"n":\#(key)}"#), receivedAt: now), into: receipts)
            }
            tally.record(.message(ByteBuffer(string: "not json"), receivedAt: now), into: receipts)
        }.get()
        var report = FeedReport(name: "flood", kind: "websocket", subscribers: 1)
        await tally.report([(receipts, loop)], ledger: ledger, into: &report)
        #expect(report.unkept == 3 && report.ignored == 1)
        #expect(report.delivered == 3 && report.expected == 3 && report.stray == 0)
        #expect(report.note.contains("3 messages past the most the engine keeps were counted, not judged"))
    }
}
