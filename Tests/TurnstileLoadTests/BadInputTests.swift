import Foundation
import NIOHTTP1
import Testing
@testable import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// A bad-input phase, generated from the scenario's own requests with no list to write: against a shop with two flaws
/// it names both, within its bound though one hangs; against Turnstile it finds none.
@Suite("Bad inputs", .serialized, .timeLimit(.minutes(2)))
struct BadInputTests {
    static let fragile = """
        name: fragile
        users:
          count: 1
          headers: { Authorization: Bearer good }
        phases:
          - name: orders
            executor: closed
            duration: 200ms
            request: { name: order, method: POST, path: /orders, body: { item: a, quantity: 1 }, expect: [201] }
          - name: bad inputs
            executor: bad_input
            probe: /health
            body_limit: 1MiB
            timeout: 1s
        """

    @Test("a shop that 500s on a missing field, drops a wrong type, hangs on a huge body: each named, exit 2, bounded")
    func fragileShop() async throws {
        try await FragileShop.with { shop in
            let started = ContinuousClock.now
            let report = try await run(Self.fragile, port: shop.port)
            #expect(report.outcome == .invariantBroken, "\(report.reasons)")
            let failed = report.badInputs.filter(\.verdict.isFailure)
            #expect(
                failed.map { "\($0.input): \($0.verdict.rawValue)" } == [
                    "body.quantity: missing: server error", "Content-Type: text/plain: closed without an answer",
                    "a body past \(Format.bytes(1 << 20)): hang",
                ], "\(failed)")
            #expect(failed.first?.detail.contains("KeyError") == true)
            // Every other input was refused: no Authorization, wrong types, malformed JSON, control characters…
            let refused = report.badInputs.filter { $0.verdict == .refused }.map(\.input)
            for input in [
                "no Authorization", "an expired token in Authorization", "malformed JSON (cut short)",
                "body.quantity: beyond 64 bits", "body.quantity: negative",
                "body.item: control and invisible characters",
                "body.item: 100,000 characters",
            ] {
                #expect(refused.contains(input), "\(input)")
            }
            let broken = report.invariants.filter { !$0.passed }.map(\.rule)
            #expect(
                broken == [
                    "no bad input is answered with a 5xx", "every bad input is answered within 1 s",
                    "no bad input's connection closes without an answer",
                ])
            // One hang costs its timeout, not the run: the phase ends within a few seconds.
            #expect(ContinuousClock.now - started < .seconds(20))
            let console = ConsoleRenderer.render(report)
            #expect(console.contains("Bad inputs that failed (3 of \(report.badInputs.count))"))
            #expect(HTMLReport.render(report).contains("<section id=\"bad-inputs\">"))
        }
    }

    @Test("from an OpenAPI document: every operation, its declared bounds included; the unchecked bound's 500 named")
    func openAPI() async throws {
        let yaml = """
            name: fragile api
            users: {count: 1, headers: {Authorization: Bearer good}}
            phases:
              - name: bad inputs
                executor: bad_input
                openapi: /openapi.json
                probe: /health
                timeout: 1s
            """
        try await FragileShop.with { shop in
            let report = try await run(yaml, port: shop.port)
            #expect(report.outcome == .invariantBroken, "\(report.reasons)")
            let failed = report.badInputs.filter(\.verdict.isFailure)
            #expect(
                failed.map { "\($0.request) \($0.input): \($0.verdict.rawValue)" } == [
                    "GET /orders query limit: above its maximum 100 (101): server error",
                    "POST /orders body.quantity: missing: server error",
                    "POST /orders Content-Type: text/plain: closed without an answer",
                ], "\(failed)")
            let refused = Set(report.badInputs.filter { $0.verdict == .refused }.map { "\($0.request) \($0.input)" })
            for input in [
                "GET /orders query limit: below its minimum 1 (0)", "GET /orders query limit: missing",
                "GET /orders query limit: not a number", "GET /orders no Authorization",
                "POST /orders body.quantity: above its maximum 10 (11)",
                "POST /orders body.item: longer than its maxLength 64",
                "POST /orders body.item: shorter than its minLength 1", "POST /orders malformed JSON (cut short)",
                "POST /orders an expired token in Authorization", "GET /orders/{id} path id: an unknown id",
                "GET /orders/{id} path id: below its minimum 1 (0)", "GET /orders/{id} path id: not a number",
            ] {
                #expect(refused.contains(input), "\(input)")
            }
            // /health declares no security: nothing to take away, and no parameters: no inputs.
            #expect(!report.badInputs.contains { $0.request == "GET /health" })
        }
    }

    @Test("an OpenAPI document that is not one, too deep, or cyclic: an error or a bounded reading, never a hang")
    func hostileOpenAPI() throws {
        #expect(throws: ScenarioError.self) { try OpenAPIBadInputs(bytes: Array("[1, 2]".utf8), name: "list.json") }
        #expect(throws: ScenarioError.self) {
            try OpenAPIBadInputs(
                bytes: [UInt8](repeating: 0x20, count: LoadLimits.openAPIDocumentBytesMax + 1), name: "big")
        }
        // A schema that refers to itself: its example stops at the bound.
        let cyclic = """
            {"paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
             "components": {"schemas": {"A": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}, "b": {"$ref": "#/components/schemas/B"}}},
                                        "B": {"$ref": "#/components/schemas/B"}}}}
            """
        let document = try OpenAPIBadInputs(bytes: Array(cyclic.utf8), name: "cyclic.json")
        let cases = document.cases(headers: [:], values: [:], identity: [], bodyLimit: nil, limit: 50)
        #expect((1...50).contains(cases.count))
        // Wide and deep: 200 properties, each the same 200-property object, 30 levels down: 200^30 paths, built
        // within the example budget, not in exponential time.
        let properties = (0..<200).map { ##""p\##($0)": {"$ref": "#/components/schemas/W"}"## }.joined(separator: ",")
        let wide = """
            {"paths": {"/w": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/W"}}}}}}},
             "components": {"schemas": {"W": {"type": "object", "properties": {\(properties)}}}}}
            """
        // (Without the budget this does not finish: the suite's time limit is the bound that would fail it.)
        let wideCases = try OpenAPIBadInputs(bytes: Array(wide.utf8), name: "wide.json").cases(
            headers: [:], values: [:], identity: [], bodyLimit: nil, limit: 100)
        #expect(wideCases.count == 100)
        // YAML reads too, and its aliases are refused as in scenario files.
        let yaml = "paths:\n  /a: &item\n    get: {}\n  /b: *item\n"
        #expect(throws: ScenarioError.self) { try OpenAPIBadInputs(bytes: Array(yaml.utf8), name: "api.yaml") }
        let plain = "paths:\n  /a/{id}:\n    get:\n      parameters: [{name: id, in: path, schema: {type: integer}}]\n"
        let operations = try OpenAPIBadInputs(bytes: Array(plain.utf8), name: "api.yaml").operations
        #expect(operations.map(\.endpoint) == ["GET /a/{id}"])
        // A parameter's schema by reference: its type and its bounds both read through the `$ref`.
        let referred = """
            paths:
              /b/{id}:
                get:
                  parameters: [{name: id, in: path, schema: {$ref: "#/components/schemas/Id"}}]
            components: {schemas: {Id: {type: integer, minimum: 1}}}
            """
        let inputs = try OpenAPIBadInputs(bytes: Array(referred.utf8), name: "ref.yaml")
            .cases(headers: [:], values: [:], identity: [], bodyLimit: nil, limit: 100).map(\.1.input)
        #expect(
            inputs.contains("path id: not a number") && inputs.contains("path id: below its minimum 1 (0)"), "\(inputs)"
        )
    }

    @Test("Turnstile refuses every bad input made from the race's requests and its OpenAPI document: zero failures")
    func turnstile() async throws {
        let race = BundledScenario.race.text.replacingOccurrences(
            of: "\nreadback:",
            with:
                "\n  - name: bad inputs\n    executor: bad_input\n    probe: /health\n    body_limit: 2MiB\n"
                + "    openapi: {path: /openapi.json, parameters: {id: \"${event}\"}}\n\nreadback:"
        )
        try await LiveServer.with { server in
            let report = try await run(race, port: server.port, overrides: ["users": 20, "capacity": 5])
            #expect(report.outcome == .passed, "\(report.reasons)")
            #expect(report.badInputs.count > 40)
            // Every documented operation besides the race's own requests, with the bounds the document declares.
            let inputs = Set(report.badInputs.map { "\($0.request) \($0.input)" })
            for input in [
                "POST /api/v1/bookings/ body.seat_count: above its maximum",
                "GET /api/v1/events/ query page_size: above",
                "POST /api/v1/items/{id}/bids no Authorization", "GET /api/v1/events/{id} path id: an unknown id",
            ] {
                #expect(inputs.contains { $0.hasPrefix(input) }, "\(input)")
            }
            #expect(
                report.badInputs.filter(\.verdict.isFailure).isEmpty, "\(report.badInputs.filter(\.verdict.isFailure))")
            #expect(report.thresholds.allSatisfy { $0.passed })
        }
    }

    @Test("mistakes in a bad-input phase are errors at their place")
    func mistakes() {
        for (text, message) in [
            ("body_limit: lots", "'body_limit' must be a size up to 16 MiB"),
            ("body_limit: 1MiB\n    duration: 1s", "'duration' does not apply to a bad_input phase"),
            ("body_limit: 1MiB\n    openapi: openapi.json", "fragile.yaml:14:14: 'openapi' is a path on the target"),
            (
                "body_limit: 1MiB\n    openapi: {path: /o.json, file: o.json}",
                "fragile.yaml:14:14: 'openapi' needs one of 'path' (on the target) or 'file'"
            ),
            ("body_limit: 1MiB\n    openapi: {file: ../o.json}", "'file' names a file beside the scenario"),
        ] {
            do {
                let yaml = Self.fragile.replacingOccurrences(of: "body_limit: 1MiB", with: text)
                _ = try ScenarioFile(yaml: yaml, file: "fragile.yaml")
                Issue.record("no error for \(text)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
            }
        }
    }

    private func run(_ yaml: String, port: Int, overrides: [String: ScenarioValue] = [:]) async throws -> RunReport {
        let scenario = try ScenarioFile(yaml: yaml, file: "bad.yaml")
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        // The default errors<1% stands, as on the command line: a bad-input phase's refusals are not its failures.
        return await StressRun.execute(
            suite: scenario.name, target: target, thresholds: [.failuresDefault], endpoints: scenario.endpoints
        ) {
            report in
            try await ScenarioRunner(scenario, context: SuiteContext(target: target), overrides: overrides)
                .run(into: &report)
        }
    }
}
