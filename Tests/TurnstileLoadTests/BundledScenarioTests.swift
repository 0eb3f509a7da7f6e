import Foundation
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// The built-in suites are bundled scenario files: each runs against the real service on 127.0.0.1 and passes with
/// the exact counts its invariants name; against targets that oversell or lose writes, they fail, naming the rule.
@Suite("Bundled scenarios", .serialized, .timeLimit(.minutes(3)))
struct BundledScenarioTests {
    @Test("every bundled file is the repository's scenarios/ file, and reads without error")
    func bundledFilesAreTheRepositorysFiles() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../scenarios")
        for scenario in BundledScenario.allCases {
            let onDisk = try String(contentsOf: folder.appendingPathComponent(scenario.fileName), encoding: .utf8)
            #expect(onDisk == scenario.text, "\(scenario.fileName)")
            _ = try scenario.load()
        }
    }

    @Test("the README's scenario reads without error, as `stress check` would read it")
    func readmeScenario() throws {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```yaml\n").dropFirst().map {
            $0.components(separatedBy: "```").first ?? ""
        }
        #expect(blocks.count == 1)
        for block in blocks {
            let scenario = try ScenarioFile(yaml: block, file: "README.md")
            #expect(!scenario.invariants.isEmpty && !scenario.phases.isEmpty)
        }
    }

    @Test("race against a service with Turnstile's paths and other answers: it says so, exit 3, not broken books")
    func otherShapes() async throws {
        try await BrokenTarget.with(buyers: 12, defect: .answersOtherShapes) { broken in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(broken.port)")
            let report = await runBundled([(.race, ["users": 12, "capacity": 5])], target: target, thresholds: [])
            #expect(report.outcome == .couldNotRun, "\(report.reasons)")
            let failure = try #require(report.failure)
            #expect(
                failure.contains("this target's answers do not have the shape the race suite reads"), "\(failure)")
            #expect(failure.contains("$ is a list, with no field 'bookings'"), "\(failure)")
            // Nothing it could not read is reported broken.
            let broken = report.invariants.filter { !$0.passed }.map(\.rule)
            #expect(broken.isEmpty, "\(broken)")
        }
    }

    @Test("race: 60 buyers for 7 seats and 30 buyers of 3 seats for 20, exact; the JSON round-trips")
    func race() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled(
                [(.race, ["users": 60, "capacity": 7]), (.race, ["users": 30, "capacity": 20, "amount": 3])],
                target: target, thresholds: [try Threshold(parsing: "errors<1%")])
            #expect(report.failure == nil)
            #expect(report.outcome == .passed)
            #expect(report.invariants.count == 14 && report.invariants.allSatisfy(\.passed))
            #expect(report.phases.map(\.name) == ["race 60→7", "race 30×3→20"])
            #expect(report.phases.map { $0.overall.count(status: 201) } == [7, 6])
            #expect(report.phases.allSatisfy { $0.releaseSpreadMicroseconds != nil })
            let decoded = try JSONReport.decode(JSONReport.encode(report))
            #expect(decoded.outcome == .passed && decoded.phases.count == 2)
        }
    }

    @Test("a race whose bookings the target refuses as requests did not happen: could not run, not an oversell")
    func refusedRace() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            // 20 seats per booking: the service refuses each with 422, before any seat is considered.
            let report = await runBundled([(.race, ["users": 5, "capacity": 2, "amount": 20])], target: target)
            #expect(report.outcome == .couldNotRun, "\(report.invariants)")
            #expect(report.failure?.contains("refused 5 of 5 requests of 'race 5×20→2' with 422") == true)
            #expect(report.invariants.isEmpty)
        }
    }

    @Test("orders: 20 buyers for 5 units give exactly 5 orders; the pay/ship/cancel mix keeps the stock whole")
    func orders() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled([(.orders, [:]), (.ordersLifecycle, ["users": 30])], target: target)
            #expect(report.outcome == .passed, "\(report.failure ?? "")")
            #expect(report.invariants.count == 10 && report.invariants.allSatisfy(\.passed))
            let drop = try #require(report.phases.first)
            #expect(drop.overall.count(status: 201) == 5 && drop.overall.count(status: 409) == 15)
            // Ten of the thirty orders are cancelled and then paid: those ten payments are refused.
            let lifecycle = try #require(report.phases.last)
            #expect(lifecycle.endpoints.first { $0.name == "pay" }?.count(status: 409) == 10)
            let statuses = try #require(report.invariants.last)
            #expect(statuses.actual == "cancelled 20, shipped 10" && statuses.expected == statuses.actual)
        }
    }

    @Test("credits: 50 deductions of 5 from 100 give exactly 20 × 200 and 30 × 402, balance 0 = the ledger's sum")
    func credits() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled([(.credits, [:])], target: target)
            #expect(report.outcome == .passed, "\(report.failure ?? "")")
            #expect(report.invariants.count == 7 && report.invariants.allSatisfy(\.passed))
            let phase = try #require(report.phases.first)
            #expect(phase.overall.count(status: 200) == 20 && phase.overall.count(status: 402) == 30)
        }
    }

    @Test("bids: rounds of simultaneous bids leave strictly increasing accepted bids and report bids per second")
    func bids() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled([(.bids, ["users": 25, "rounds": 3])], target: target)
            #expect(report.outcome == .passed, "\(report.failure ?? "")")
            #expect(report.invariants.count == 6 && report.invariants.allSatisfy(\.passed))
            let phase = try #require(report.phases.first)
            #expect(phase.overall.requests == 75)
            // The first round's lowest bid always wins; every round's highest bid is above all earlier ones.
            #expect(phase.overall.count(status: 201) >= 3)
            #expect(report.notes.contains { $0.contains("75 bids answered") })
        }
    }

    @Test("mixed: browse, read, book and create at once; the hot event's seats and the events created add up")
    func mixed() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled(
                [(.mixed, ["users": 4, "duration": "600ms"])], target: target, suite: "mixed")
            #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.reasons)")
            #expect(report.invariants.count == 2 && report.invariants.allSatisfy(\.passed))
            let phase = try #require(report.phases.first)
            #expect(Set(phase.endpoints.map(\.name)).isSubset(of: ["browse", "detail", "book", "create"]))
            #expect(phase.overall.failures == 0 && phase.overall.requests > 20)
        }
    }

    @Test("throughput: half lists, half details, every read answered")
    func throughput() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled(
                [(.throughput, ["users": 4, "duration": "400ms"])], target: target, suite: "throughput")
            #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.reasons)")
            #expect(report.phases.first?.endpoints.map(\.name).sorted() == ["browse", "detail"])
        }
    }

    @Test("edge: every ordinary request of the API succeeds once, then each bad input made from them gets a 4xx")
    func edge() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled([(.edge, [:])], target: target, suite: "edge")
            #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.reasons)")
            #expect(report.phases.map(\.name) == ["ordinary requests", "bad inputs"])
            #expect(report.phases[0].overall.failures == 0 && report.phases[0].overall.requests == 10)
            // Every endpoint's inputs, and none failed: a 5xx, a hang or a crash would.
            #expect(
                Set(report.badInputs.map(\.request)).isSuperset(of: [
                    "book", "order", "deduct", "bid", "register", "POST /api/v1/bookings/{id}/confirm",
                    "GET /api/v1/products/{id}",
                ]))
            #expect(report.badInputs.count > 200 && !report.badInputs.contains { $0.verdict.isFailure })
        }
    }

    @Test("fanout: every one of 50 viewers receives all 10 bids, in order, timed from each bid's sending")
    func fanout() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled(
                [(.fanout, ["connections": 50, "bids": 10, "interval": "1ms"])], target: target, suite: "fanout")
            #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.reasons)")
            #expect(report.invariants.count == 5 && report.invariants.allSatisfy(\.passed))
            let viewers = try #require(report.feeds.first)
            #expect(viewers.delivered == 500 && viewers.expected == 500 && viewers.latency.count == 500)
            // Turnstile greets each viewer with "subscribed", which names no bid.
            #expect(viewers.ignored == 50 && viewers.stray == 0 && viewers.outOfOrder == 0)
            #expect(report.phases.map(\.name) == ["fanout 50×10"])
        }
    }

    @Test("against a target that oversells: the race says so, as a broken invariant")
    func catchesOversell() async throws {
        try await BrokenTarget.with(buyers: 20) { broken in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(broken.port)")
            let report = await runBundled([(.race, ["users": 20, "capacity": 5])], target: target)
            #expect(report.failure == nil)
            #expect(report.outcome == .invariantBroken)
            let successes = try #require(report.invariants.first { $0.rule.hasPrefix("successes ≤") })
            #expect(!successes.passed && successes.actual == "20")
        }
    }

    @Test("against a target that loses acknowledged bookings: the read-back catches it")
    func catchesLostWrites() async throws {
        try await BrokenTarget.with(buyers: 10, defect: .losesBookings) { broken in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(broken.port)")
            let report = await runBundled([(.race, ["users": 10, "capacity": 3])], target: target)
            #expect(report.outcome == .invariantBroken)
            let stored = try #require(report.invariants.first { $0.rule.hasPrefix("stored bookings") })
            #expect(!stored.passed && stored.actual == "0")
        }
    }

    @Test("an unreachable target is a run that could not be carried out")
    func unreachable() async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let report = await runBundled([(.race, ["users": 3, "capacity": 1])], target: target)
        #expect(report.outcome == .couldNotRun)
        #expect(report.failure?.hasPrefix("nothing listens on http://127.0.0.1:1") == true, "\(report.failure ?? "")")
    }
}

/// The looping executors from a file: weighted tasks, a sequence whose capture passes along (order → pay), think
/// time, an open phase's arrivals and a ramp's stages, all against the real service; the books read back agree with
/// the counts the phases saw.
///
/// (The order task weighs 2 of 3 and the phase lasts 2 s: on a CI machine busy with the whole suite a user may loop
/// only once or twice a second, and with 1 of 3 for a second, four users once drew only `look`.)
@Suite("Scenario executors", .serialized, .timeLimit(.minutes(2)))
struct ScenarioExecutorTests {
    static let yaml = """
        name: shop floor
        vars: {stock: 100000}
        users:
          count: 4
          provision:
            - {name: register, method: POST, path: /api/v1/auth/register, expect: [201],
               body: {email: "t${run}u${user}@x.test", username: "t${run}u${user}", password: "pw-${run}-${user}"}}
            - {name: login, method: POST, path: /api/v1/auth/login, retry: true, capture: {token: $.access_token},
               body: {email: "t${run}u${user}@x.test", password: "pw-${run}-${user}"}}
          headers: {Authorization: "Bearer ${token}"}
        setup:
          - {name: product, method: POST, path: /api/v1/products/, capture: {product: $.id},
             body: {sku: "sku-${run}", name: "n", price_cents: 100, stock: "${stock}"}}
        phases:
          - name: buy and pay
            executor: closed
            duration: 2s
            tasks:
              - weight: 2
                think: 5ms
                steps:
                  - {name: order, method: POST, path: /api/v1/orders/, capture: {order: $.id}, outcomes: {granted: [201]},
                     body: {product_id: "${product}", quantity: "${1 + iteration % 2}"}}
                  - {name: pay, method: POST, path: "/api/v1/orders/${order}/pay", body: {}, outcomes: {granted: [200]}}
              - weight: 1
                request: {name: look, path: "/api/v1/products/${product}"}
          - name: arrivals
            executor: open
            rate: 200
            duration: 300ms
            connections: 4
            request: {name: glance, path: "/api/v1/products/${product}?n=${random(1, 9)}"}
          - name: steps
            executor: ramp
            stages: [{users: 1, duration: 100ms}, {users: 3, duration: 100ms}]
            request: {name: look, path: "/api/v1/products/${product}"}
        readback:
          - {name: product, path: "/api/v1/products/${product}", capture: {left: $.stock}}
          - name: my orders
            path: /api/v1/orders/
            per_user: true
            capture:
              statuses: "$.orders[?(@.product_id == ${product})].status"
              units: "$.orders[?(@.product_id == ${product})].quantity"
        invariants:
          - {name: some orders, check: count(order.granted) >= 1}
          - {name: every order stored, check: len(statuses) == count(order.granted)}
          - {name: every payment stored, check: 'count(statuses, "paid") == count(pay.granted)'}
          - {name: no payment without its order, check: count(pay) <= count(order.granted)}
          - {name: stock adds up, check: left + sum(units) == stock}
          - {name: arrivals came, check: count(glance.answered) >= 1}
        """

    @Test("closed tasks with a capture passed along, open arrivals and ramp stages: the books agree")
    func loopingExecutors() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let scenario = try ScenarioFile(yaml: Self.yaml, file: "floor.yaml")
            // What the executors do is under test here, not whether 4 connections carry 200/s on a loaded machine:
            // the open phase may drop what it must (dropped<1% would judge that by default).
            let anyDropped = try Threshold(parsing: "dropped<=100%")
            let report = await StressRun.execute(suite: "floor", target: target, thresholds: [anyDropped]) { report in
                try await ScenarioRunner(scenario, context: SuiteContext(target: target)).run(into: &report)
            }
            #expect(report.failure == nil, "\(report.failure ?? "")")
            #expect(report.outcome == .passed, "\(report.invariants.filter { !$0.passed }) \(report.thresholds)")
            #expect(report.invariants.count == 6)
            #expect(
                report.phases.map(\.name) == [
                    "buy and pay", "arrivals", "steps (stage 1: 1 users)", "steps (stage 2: 3 users)",
                ])
            #expect(report.phases.map(\.executor) == ["closed", "open", "closed", "closed"])
            let closed = try #require(report.phases.first)
            // A pay follows an order, unless the phase ended first: on a busy machine every user's order may be its
            // last, so `pay` may not be there at all.
            let names = Set(closed.endpoints.map(\.name))
            #expect(names.isSubset(of: ["order", "pay", "look"]) && names.contains("order"), "\(names)")
            let orders = closed.endpoints.first { $0.name == "order" }?.count(status: 201) ?? 0
            let pays = closed.endpoints.first { $0.name == "pay" }?.requests ?? 0
            // (Added, not subtracted: counts are unsigned, and a slow machine may place fewer than four orders.)
            #expect(pays + 4 >= orders && pays <= orders, "a pay follows each order, but for the last of each user")
        }
    }

    @Test("an expression that fails while a loop runs ends the run with its position, exit 3, not a crash or a pass")
    func runtimeErrorInALoop() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            for (executor, line) in [
                ("executor: closed\n    duration: 300ms", 5), ("executor: open\n    rate: 50\n    duration: 300ms", 6),
            ] {
                // `iteration` is a number; a string times a number is a type error, found only when it is evaluated.
                let yaml = """
                    name: broken
                    phases:
                      - \(executor)
                        request: {name: health, path: "/health?n=${if(iteration > 2, 'x' * 2, 1)}"}
                    """
                let scenario = try ScenarioFile(yaml: yaml, file: "broken.yaml")
                let report = await StressRun.execute(suite: "broken", target: target, thresholds: []) { report in
                    try await ScenarioRunner(scenario, context: SuiteContext(target: target)).run(into: &report)
                }
                #expect(report.outcome == .couldNotRun, "\(executor): \(report.failure ?? "")")
                #expect(
                    report.failure == "broken.yaml:\(line):70: '*' needs numbers, not a string and a number",
                    "\(report.failure ?? "")")
            }
        }
    }
}
