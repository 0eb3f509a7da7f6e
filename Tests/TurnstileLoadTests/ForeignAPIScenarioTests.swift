import Foundation
import NIOCore
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// The tutorial's scenario (`docs/examples/shop.yaml`), written for an API that is not Turnstile's, against that
/// API: sound, it passes; overselling or losing acknowledged sales, it fails with the broken rule named (exit 2).
@Suite("A scenario for a foreign API", .serialized, .timeLimit(.minutes(2)))
struct ForeignAPIScenarioTests {
    static let shopFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/examples/shop.yaml").standardizedFileURL

    @Test("a sound shop passes: exactly 5 sales of 5 units to 50 buyers, 45 sold out, the books add up")
    func soundShopPasses() async throws {
        try await ForeignShop.with { shop in
            let report = await run(against: shop)
            #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.invariants.filter { !$0.passed })")
            #expect(report.invariants.count == 5 && report.invariants.allSatisfy(\.passed))
            let phase = try #require(report.phases.first)
            #expect(phase.overall.count(status: 200) == 5 && phase.overall.count(status: 410) == 45)
            #expect(report.thresholds.map(\.threshold) == ["buy:p99<2s"])
        }
    }

    @Test("the tutorial's bad-input phase: the shop refuses every input made wrong from its own requests")
    func badInputs() async throws {
        try await ForeignShop.with { shop in
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8).replacingOccurrences(
                of: "\nreadback:",
                with: "\n  - name: bad inputs\n    executor: bad_input\n    body_limit: 1MiB\n\nreadback:")
            let report = await run(try ScenarioFile(yaml: text, file: "shop.yaml"), against: shop)
            #expect(
                report.outcome == .passed,
                "\(report.reasons) \(report.badInputs.filter { $0.verdict != .refused }.map { "\($0.request): \($0.input) \($0.status ?? 0)" })"
            )
            #expect(report.badInputs.count > 30 && report.badInputs.allSatisfy { !$0.verdict.isFailure })
            // The shop's credential is X-Auth, the users' header: it is dropped and spoiled like a bearer token.
            #expect(report.badInputs.contains { $0.input == "no X-Auth" && $0.verdict == .refused })
        }
    }

    @Test("the tutorial's live feed: 100 watchers of the shop's sales stream each get every sale, timed from the buy")
    func liveFeed() async throws {
        try await ForeignShop.with { shop in
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8)
                .replacingOccurrences(
                    of: "\nphases:\n",
                    with: """

                        subscribers:
                          - {name: watchers, count: 100, url: "/shop/items/${sku}/sales", kind: sse, key: body.purchase.ref}

                        phases:

                        """
                )
                .replacingOccurrences(
                    of: "      outcomes: {sold: [200], sold_out: [410]}\n",
                    with: "      outcomes: {sold: [200], sold_out: [410]}\n      publishes: body.purchase.ref\n"
                )
                .replacingOccurrences(
                    of: "\ninvariants:\n",
                    with: """

                        invariants:
                          - {name: every watcher saw every sale, check: feeds.watchers.delivered == feeds.watchers.expected}
                          - {name: nothing the sale did not cause, check: feeds.watchers.stray == 0}

                        """)
            let report = await run(try ScenarioFile(yaml: text, file: "shop.yaml"), against: shop)
            #expect(report.outcome == .passed, "\(report.reasons)")
            let feed = try #require(report.feeds.first)
            #expect(feed.subscribers == 100 && feed.connected == 100 && feed.dropped == 0)
            #expect(feed.events == 5 && feed.expected == 500 && feed.delivered == 500, "\(feed)")
            #expect(feed.latency.count == 500)
            #expect(
                report.invariants.filter { $0.rule.hasPrefix("every watcher") || $0.rule.hasPrefix("nothing") }
                    .count == 2)
        }
    }

    @Test("the tutorial's ramp with a stop: its stages run against the shop, and the report says where it stood")
    func breakingPointRamp() async throws {
        try await ForeignShop.with { shop in
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8).replacingOccurrences(
                of: "\nreadback:",
                with: """

                      - name: climb
                        executor: ramp
                        stages: [{users: 5, duration: 300ms}, {users: 10, duration: 300ms}, {users: 20, duration: 300ms}]
                        stop: failure_ratio > 0.01 or p99_ms > 1000
                        tasks:
                          - {weight: 8, request: {name: look, path: "/shop/items/${sku}"}}
                          - {weight: 1, request: {name: buy, method: POST, path: "/shop/items/${sku}/purchase", body: {count: 1},
                                                  outcomes: {sold: [200], sold_out: [410]}}}

                    readback:
                    """)
            let report = await run(try ScenarioFile(yaml: text, file: "shop.yaml"), against: shop)
            let stages = report.phases.filter { $0.name.hasPrefix("climb (stage") }
            // The sound shop holds at 20 users on loopback: no breaking point, said as such; one that broke would
            // be named in `breakingPoints` and the run go on to judge the books.
            #expect(stages.count == 3 || report.breakingPoints.count == 1, "\(report.phases.map(\.name))")
            #expect(
                report.notes.contains("climb: no breaking point up to 20 users") || !report.breakingPoints.isEmpty,
                "\(report.notes)")
            #expect(stages.allSatisfy { $0.overall.requests > 0 })
        }
    }

    @Test("a shop that reads, pauses and writes oversells under the race: exit 2, the broken rule named")
    func overSellingShopFails() async throws {
        try await ForeignShop.with(defect: .oversells, buyers: 20) { shop in
            let report = await run(against: shop, overrides: ["buyers": 20])
            #expect(report.outcome == .invariantBroken && report.outcome.rawValue == 2)
            let broken = report.invariants.filter { !$0.passed }.map(\.rule)
            #expect(broken.contains("never more sold than there was"), "\(broken)")
            let oversold = try #require(report.invariants.first { $0.rule == "never more sold than there was" })
            #expect(oversold.actual == "20" && oversold.expected == "≤ 5")
        }
    }

    @Test("a shop that loses acknowledged sales: the read-back catches it, exit 2")
    func losingShopFails() async throws {
        try await ForeignShop.with(defect: .losesPurchases) { shop in
            let report = await run(against: shop, overrides: ["buyers": 10])
            #expect(report.outcome == .invariantBroken)
            let broken = report.invariants.filter { !$0.passed }.map(\.rule)
            #expect(broken.contains("purchases stored = sales confirmed: none lost, no phantom"), "\(broken)")
            #expect(!broken.contains("never more sold than there was"))
        }
    }

    @Test("set-up is patient: a slow sign-up on one worker and lost answers do not end the run; short timeouts would")
    func patientSetUp() async throws {
        // 12 buyers, each a sign-up and a log-in of 0.15 s on one worker: 3.6 s in all (the twelfth of a dozen
        // sign-ups at once answers after 1.8 s), while a measured request may take 1 s, ample for the fast buying
        // calls even on a loaded machine. Two sign-ups are stored but answered 503: sent again, they are answered
        // 409, "exists".
        let accounts = ForeignShop.Accounts(callCost: .milliseconds(150), lostSignUpAnswers: 2)
        let measured = HTTPClientConnection.Timeouts(read: .seconds(1), response: .seconds(1))
        try await ForeignShop.with(accounts: accounts) { shop in
            let report = await run(
                against: shop, overrides: ["buyers": 12], context: { SuiteContext(target: $0, timeouts: measured) })
            #expect(report.outcome == .passed, "\(report.failure ?? "")")
            #expect(report.invariants.count == 5 && report.invariants.allSatisfy(\.passed))
        }
        try await ForeignShop.with(accounts: accounts) { shop in
            let report = await run(
                against: shop, overrides: ["buyers": 12],
                context: { SuiteContext(target: $0, timeouts: measured, setupTimeouts: measured) })
            #expect(report.outcome == .couldNotRun)
            #expect(report.failure?.contains("provisioning request") == true, "\(report.failure ?? "")")
        }
    }

    @Test("a capture that finds nothing ends the run with the request, its status and what it answered")
    func captureFindsNothing() async throws {
        try await ForeignShop.with { shop in
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8)
                .replacingOccurrences(of: "capture: {jwt: $.jwt}", with: "capture: {jwt: $.token}")
            let scenario = try ScenarioFile(yaml: text, file: "shop.yaml")
            let report = await run(scenario, against: shop)
            #expect(report.outcome == .couldNotRun)
            let failure = try #require(report.failure)
            #expect(failure.hasPrefix("shop.yaml:23:17: capture 'jwt' found nothing at $.token"), "\(failure)")
            #expect(failure.contains("in the answer of provisioning request 'token' (200): {\"jwt\":"), "\(failure)")
        }
    }

    @Test("a read-back that fails after an oversell: still exit 2, the broken count named; the rest not judged")
    func oversellWithoutReadBack() async throws {
        try await ForeignShop.with(defect: .oversells, buyers: 20) { shop in
            // The item's read-back asks a path the shop does not have: set-up's captures are all the run knows.
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8)
                .replacingOccurrences(of: "path: /shop/items/${sku}\n", with: "path: /shop/nowhere/${sku}\n")
            let report = await run(
                try ScenarioFile(yaml: text, file: "shop.yaml"), against: shop, overrides: ["buyers": 20])
            #expect(report.outcome == .invariantBroken && report.outcome.rawValue == 2)
            let oversold = try #require(report.invariants.first { $0.rule == "never more sold than there was" })
            #expect(!oversold.passed && oversold.actual == "20")
            #expect(report.failure?.contains("read-back request 'item'") == true, "\(report.failure ?? "")")
            // The rules that read what the read-back captures are not judged, not passed.
            let judged = report.invariants.map(\.rule)
            #expect(!judged.contains("units left = stock − units sold"), "\(judged)")
            #expect(!judged.contains("purchases stored = sales confirmed: none lost, no phantom"), "\(judged)")
            let note = try #require(report.notes.first { $0.hasPrefix("not judged") })
            #expect(note.contains("'units left = stock − units sold'"), "\(note)")
        }
    }

    @Test("a capture path that does not fit the answer's shape is an error, not an empty list of purchases")
    func captureOfAnotherShape() async throws {
        try await ForeignShop.with { shop in
            // The purchases are a bare list: a path into an object around them fits nothing.
            let text = try String(contentsOf: Self.shopFile, encoding: .utf8)
                .replacingOccurrences(
                    of: "\"$[?(@.sku == '${sku}')].count\"", with: "\"$.purchases[?(@.sku == '${sku}')].count\"")
            let report = await run(try ScenarioFile(yaml: text, file: "shop.yaml"), against: shop)
            #expect(report.outcome == .couldNotRun)
            let failure = try #require(report.failure)
            #expect(failure.contains("capture 'bought': $.purchases[?(@.sku == "), "\(failure)")
            #expect(failure.contains("does not fit the answer of read-back request 'my purchases' (200)"), "\(failure)")
            #expect(failure.contains("$ is a list, with no field 'purchases'; the answer begins ["), "\(failure)")
            #expect(!report.invariants.contains { $0.rule.hasPrefix("purchases stored") })
        }
    }

    private func run(
        against shop: ForeignShop, overrides: [String: ScenarioValue] = [:],
        context: @Sendable (LoadTarget) -> SuiteContext = { SuiteContext(target: $0) }
    ) async -> RunReport {
        do {
            return await run(
                try ScenarioFile(contentsOf: Self.shopFile), against: shop, overrides: overrides,
                context: context)
        } catch {
            Issue.record("\(error)")
            return RunReport(suite: "shop", target: "")
        }
    }

    private func run(
        _ scenario: ScenarioFile, against shop: ForeignShop, overrides: [String: ScenarioValue] = [:],
        context: @Sendable (LoadTarget) -> SuiteContext = { SuiteContext(target: $0) }
    ) async -> RunReport {
        do {
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(shop.port)")
            let thresholds = try scenario.thresholds.map { try Threshold(parsing: $0) }
            return await StressRun.execute(
                suite: scenario.name, target: target, thresholds: thresholds, endpoints: scenario.endpoints
            ) { report in
                try await ScenarioRunner(scenario, context: context(target), overrides: overrides)
                    .run(into: &report)
            }
        } catch {
            Issue.record("\(error)")
            return RunReport(suite: "shop", target: "")
        }
    }
}
