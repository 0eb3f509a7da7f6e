import Foundation
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// What a request can send besides JSON (text as is, a form, a file, a generated body of a given size, a user's
/// header dropped) and what an answer can mean besides its status (two 409s told apart by their bodies).
@Suite("Request bodies and outcomes by body", .timeLimit(.minutes(2)))
struct RequestBodyTests {
    /// 30 claims of 10 tickets released at once: the desk refuses every third claim "busy" while tickets remain,
    /// then "sold out"; both are 409.
    static let claims = """
        name: desk
        vars: { claimants: 30 }
        users:
          count: claimants
          headers: { Authorization: "Bearer user-${user}" }
        setup:
          - name: raw
            method: POST
            path: /echo
            raw: '{"qty":'
            headers: { Content-Type: application/json }
            capture: { raw_body: $.body, raw_type: $.content_type }
          - name: form
            method: POST
            path: /echo
            form: { name: "a b", note: "é&=" }
            capture: { form_body: $.body, form_type: $.content_type }
          - name: file
            method: POST
            path: /echo
            file: payload.bin
            capture: { file_length: $.length, file_type: $.content_type }
          - name: big
            method: POST
            path: /echo
            body: { title: "${repeat('x', 2_097_152)}" }
            capture: { big_length: $.length }
          - name: anonymous
            method: POST
            path: /echo
            headers: { Authorization: null }
            capture: { anonymous_auth: $.authorization }
          - name: carried
            method: POST
            path: /echo
            capture: { carried_auth: $.authorization }
        phases:
          - name: rush
            executor: barrier
            request:
              name: claim
              method: POST
              path: /claim
              outcomes:
                created: 201
                busy: { status: 409, where: "body.code == 'busy'" }
                sold_out: { status: 409, contains: no tickets left }
        invariants:
          - { name: raw text as written, check: "raw_body == '{\\"qty\\":' and raw_type == 'application/json'" }
          - name: a form, URL-encoded
            check: "form_body == 'name=a+b&note=%C3%A9%26%3D' and form_type == 'application/x-www-form-urlencoded'"
          - { name: a file's bytes, check: "file_length == 3000 and file_type == 'application/octet-stream'" }
          - { name: a generated 2 MiB title, check: "big_length == 2097152 + len('{\\"title\\":\\"\\"}')" }
          - { name: a dropped header, check: "anonymous_auth == null and carried_auth == 'Bearer user-0'" }
          - { name: tickets, check: count(claim.created) == 10 }
          - { name: refused busy while tickets remained, check: count(claim.busy) == 4 }
          - { name: refused once sold out, check: count(claim.sold_out) == 16 }
          - { name: nothing else, check: count(claim.other) == 0 }
        """

    @Test("text, a form, a file, a generated size and a dropped header are sent as written; 409s told apart by body")
    func bodiesAndOutcomes() async throws {
        do {
            let folder = try temporaryFolder("request-bodies")
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data(repeating: 0xFE, count: 3_000).write(to: folder.appendingPathComponent("payload.bin"))
            let scenario = try ScenarioFile(yaml: Self.claims, file: "desk.yaml", folder: folder)
            try await TicketDesk.with(tickets: 10) { desk in
                let report = try await run(scenario, port: desk.port)
                #expect(report.outcome == .passed, "\(report.failure ?? "") \(report.invariants.filter { !$0.passed })")
                #expect(report.invariants.count == 9 && report.invariants.allSatisfy(\.passed))
                // The counts by body are kept in the results, so a saved report counts them the same way.
                let claim = try #require(report.phases.first?.endpoints.first { $0.name == "claim" })
                #expect(claim.outcomeCounts == ["created": 10, "busy": 4, "sold_out": 16])
                let decoded = try JSONReport.decode(try JSONReport.encode(report))
                #expect(
                    decoded.phases.first?.endpoints.first { $0.name == "claim" }?.outcomeCounts == claim.outcomeCounts)
            }
        }
    }

    @Test("outcomes by status alone still count every 409 as one outcome")
    func outcomesByStatusAlone() async throws {
        let yaml = Self.claims
            .replacingOccurrences(of: "busy: { status: 409, where: \"body.code == 'busy'\" }", with: "refused: 409")
            .replacingOccurrences(of: "sold_out: { status: 409, contains: no tickets left }", with: "")
            .replacingOccurrences(of: "count(claim.busy) == 4", with: "count(claim.refused) == 20")
            .replacingOccurrences(of: "count(claim.sold_out) == 16", with: "count(claim.refused) == 20")
        do {
            let folder = try temporaryFolder("request-bodies")
            defer { try? FileManager.default.removeItem(at: folder) }
            try Data(repeating: 0xFE, count: 3_000).write(to: folder.appendingPathComponent("payload.bin"))
            let scenario = try ScenarioFile(yaml: yaml, file: "desk.yaml", folder: folder)
            try await TicketDesk.with(tickets: 10) { desk in
                let report = try await run(scenario, port: desk.port)
                #expect(report.outcome == .passed, "\(report.invariants.filter { !$0.passed })")
                #expect(report.phases.first?.endpoints.first?.outcomeCounts == [:])
            }
        }
    }

    @Test("mistakes in bodies and outcomes are errors at their place, before anything is sent")
    func mistakes() throws {
        func error(_ request: String) -> String {
            let yaml = """
                name: bad
                phases:
                  - name: one
                    executor: barrier
                    request:
                \(request)
                """
            do {
                _ = try ScenarioFile(yaml: yaml, file: "bad.yaml")
                return "no error"
            } catch { return error.description }
        }
        #expect(
            error("      {path: /x, body: {}, raw: x}").contains(
                "a request sends one of 'body', 'raw', 'form' and 'file', not 'body' and 'raw'"))
        #expect(error("      {path: /x, file: ../secret}").contains("'file' names a file beside the scenario"))
        #expect(error("      {path: /x, file: absent.bin}").contains("cannot read absent.bin"))
        #expect(
            error("      {path: /x, outcomes: {busy: {status: 409, where: \"code == 'busy'\"}}}").contains(
                "'where' reads the answer's JSON as 'body' (body.code == 'sold_out'), not 'code'"))
        #expect(
            error("      {path: /x, outcomes: {busy: {status: 409, where: x, contains: y}}}").contains(
                "matches by 'contains' or by 'where', not both"))
        #expect(error("      {path: /x, outcomes: {busy: {contains: y}}}").contains("outcome 'busy' needs a 'status'"))
        #expect(error("      {path: /x, body: \"${repeat('ab', 9_000_000)}\"}") == "no error")
    }

    private func run(_ scenario: ScenarioFile, port: Int) async throws -> RunReport {
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        return await StressRun.execute(
            suite: scenario.name, target: target, thresholds: [], endpoints: scenario.endpoints
        ) {
            report in
            try await ScenarioRunner(scenario, context: SuiteContext(target: target)).run(into: &report)
        }
    }
}
