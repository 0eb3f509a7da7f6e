import Foundation
import NIOCore
import Synchronization
import Testing
import TurnstileReport

@testable import TurnstileLoad

/// The scenario language without a network: expressions, templates, captures, and the file's checks, each error
/// with its file, line and column.
@Suite("Scenario language")
struct ScenarioLanguageTests {
    struct Scope: ScenarioScope {
        var values: [String: ScenarioValue] = [:]
        var counts: [String: Int] = [:]

        func value(of name: String) -> ScenarioValue? { values[name] }

        func count(request: String, outcome: String?) -> Int? {
            counts[outcome.map { "\(request).\($0)" } ?? request]
        }

        func rate(of request: String) -> Double? { counts[request].map { Double($0) / 2 } }
    }

    static let origin = SourcePosition(file: "t.yaml", line: 3, column: 10)

    func evaluate(_ text: String, _ scope: Scope = Scope()) throws -> ScenarioValue {
        try ScenarioExpression(text, at: Self.origin).evaluate(in: scope)
    }

    func error(_ text: String, _ scope: Scope = Scope()) -> ScenarioError? {
        do {
            _ = try evaluate(text, scope)
            return nil
        } catch {
            return error as? ScenarioError
        }
    }

    @Test("operators: precedence, whole-number division rounding down, strings and lists joined by +")
    func operators() throws {
        #expect(try evaluate("1 + 2 * 3") == 7)
        #expect(try evaluate("(1 + 2) * 3") == 9)
        #expect(try evaluate("7 / 2") == 3)
        #expect(try evaluate("-7 / 2") == -4)
        #expect(try evaluate("7 % 3") == 1)
        #expect(try evaluate("1.5 * 2") == .double(3))
        #expect(try evaluate("1_000 + 1") == 1001)
        #expect(try evaluate("'a' + 1 + \"b\"") == "a1b")
        #expect(try evaluate("[1, 2] + [3]") == .list([1, 2, 3]))
        #expect(try evaluate("[10, 20, 30][-1]") == 30)
        #expect(try evaluate("2 <= 2 and 3 ≥ 1 and not (1 == 2) && 1 ≠ 2 || false") == true)
        #expect(try evaluate("1 == 1.0") == true)
        #expect(try evaluate("'abc' < 'abd'") == true)
        #expect(try evaluate("null == null") == true)
        let scope = Scope(values: ["order": .object(["lines": .list([.object(["qty": 2]), .object(["qty": 3])])])])
        #expect(try evaluate("sum(order.lines.qty)", scope) == 5)
    }

    @Test("functions over counts, lists and values")
    func functions() throws {
        let scope = Scope(
            values: ["seats": .list([1, 2, 2]), "status": .list(["paid", "shipped", "paid"]), "user": 4],
            counts: ["book": 10, "book.granted": 3, "book.answered": 9])
        #expect(try evaluate("count(book)", scope) == 10)
        #expect(try evaluate("count(book.granted)", scope) == 3)
        #expect(try evaluate("count(seats)", scope) == 3)
        #expect(try evaluate("count(seats, 2)", scope) == 2)
        #expect(try evaluate("len(seats) + len('abc')", scope) == 6)
        #expect(try evaluate("sum(seats)", scope) == 5)
        #expect(try evaluate("min(seats)", scope) == 1)
        #expect(try evaluate("max(3, 9, 4)", scope) == 9)
        #expect(try evaluate("max([])", scope) == .null)
        #expect(try evaluate("has(seats) and not has(missing)", scope) == true)
        #expect(try evaluate("within(5, 3, 5) and not within(6, 3, 5)", scope) == true)
        #expect(try evaluate("ascending([1, 2, 4]) and not ascending([1, 1]) and ascending([1, 1], 0)", scope) == true)
        #expect(try evaluate("range(3)", scope) == .list([1, 2, 3]))
        #expect(try evaluate("range(0)", scope) == .list([]))
        #expect(try evaluate("tally(status)", scope) == "paid 2, shipped 1")
        #expect(try evaluate("pick(user % 3, 'a', 'b', 'c')", scope) == "b")
        #expect(try evaluate("pick(-1, 'a', 'b')", scope) == "b")
        #expect(try evaluate("if(user > 3, 'big', 'small')", scope) == "big")
        #expect(try evaluate("int('42') + int(2.9)", scope) == 44)
        #expect(try evaluate("str(12) + 'x'", scope) == "12x")
        #expect(try evaluate("rate(book)", scope) == .double(5))
        let draw = try evaluate("random(5, 7)", scope)
        #expect([5, 6, 7].contains(draw))
        guard case .string(let uuid) = try evaluate("uuid()", scope) else { throw ScenarioError("no uuid") }
        #expect(uuid.count == 36 && uuid == uuid.lowercased())
    }

    @Test("repeat() makes a body of a given size, and stops at its bound rather than filling memory")
    func repeatIsBounded() throws {
        let bound = LoadLimits.requestBodyBytesMax
        #expect(try evaluate("repeat('ab', 3)") == "ababab")
        #expect(try evaluate("len(repeat('ab', n))", Scope(values: ["n": .int(bound / 2)])) == .int(bound))
        for n in [bound / 2 + 1, Int.max, -1] {
            #expect(error("repeat('ab', n)", Scope(values: ["n": .int(n)])) != nil, "\(n)")
        }
        #expect(
            error("repeat('ab', n) + 'c'", Scope(values: ["n": .int(bound / 2)]))?.message.contains("grows past")
                == true)
    }

    @Test("syntax errors point at the character: file, line and column")
    func syntaxErrors() {
        let cases: [(String, String, Int)] = [
            ("count(book", "expected ',' or ')'", 20),
            ("frobnicate(1)", "unknown function 'frobnicate'", 10),
            ("len(1, 2)", "len() takes 1 argument, not 2", 10),
            ("'open", "this string has no closing '", 10),
            ("a = 1", "'=' alone is not an operator", 12),
            ("1 < 2 < 3", "comparisons do not chain", 16),
            ("1 +", "the expression ends where a value should follow", 13),
            ("a # b", "unexpected character '#'", 12),
            ("", "an empty expression", 10),
        ]
        for (text, message, column) in cases {
            do {
                _ = try ScenarioExpression(text, at: Self.origin)
                Issue.record("'\(text)' parsed")
            } catch {
                #expect(error.message.contains(message), "\(text): \(error)")
                #expect(error.position == SourcePosition(file: "t.yaml", line: 3, column: column), "\(text): \(error)")
                #expect(error.description.hasPrefix("t.yaml:3:\(column): "))
            }
        }
    }

    @Test("type errors and missing values at evaluation name the place")
    func evaluationErrors() {
        let scope = Scope(values: ["name": "x", "n": 1])
        #expect(error("n + true", scope)?.message.contains("'+' needs numbers, not a number and a boolean") == true)
        #expect(error("n + true", scope)?.position?.column == 12)
        #expect(error("missing + 1", scope)?.message == "'missing' has no value here")
        #expect(error("n < 'a'", scope)?.message.contains("compares two numbers or two strings") == true)
        #expect(error("1 / 0", scope)?.message == "division by zero")
        #expect(error("sum(n)", scope)?.message.contains("sum() needs a list") == true)
        #expect(error("n and true", scope)?.message.contains("needs true or false") == true)
        #expect(error("[1][3]", scope)?.message.contains("outside the list of 1") == true)
    }

    @Test("an invariant's row shows each comparison's two sides")
    func judgement() throws {
        let scope = Scope(values: ["left": 0, "seats": .list([1, 1])], counts: ["book": 2, "book.granted": 2])
        func judge(_ text: String) throws -> (Bool, String, String) {
            let (passed, expected, actual) = try ScenarioExpression(text, at: Self.origin).judge(in: scope)
            return (passed, expected, actual)
        }
        #expect(try judge("count(book.granted) <= 10") == (true, "≤ 10", "2"))
        #expect(try judge("left == 10 - sum(seats)") == (false, "8", "0"))
        #expect(try judge("sum(seats) <= 2 and left >= 0") == (true, "≤ 2, ≥ 0", "2, 0"))
        #expect(try judge("within(len(seats), 2, 3)") == (true, "2...3", "2"))
        #expect(try judge("within(len(seats), 2, 2)") == (true, "2", "2"))
        #expect(try judge("ascending(seats)") == (false, "true", "false"))
        #expect(try judge("range(10) == range(10)") == (true, "[1, 2, 3, …, 10] (10)", "[1, 2, 3, …, 10] (10)"))
    }

    @Test("templates: values written in, one ${…} alone keeps its type, $${ writes ${")
    func templates() throws {
        let scope = Scope(values: ["event": 42, "user": 3, "name": "Ann"])
        let path = try ScenarioTemplate("/events/${event}/seats?for=${name}", at: Self.origin)
        #expect(try path.render(in: scope) == "/events/42/seats?for=Ann")
        #expect(try ScenarioTemplate("${event + 1}", at: Self.origin).value(in: scope) == 43)
        #expect(try ScenarioTemplate("n${user}", at: Self.origin).value(in: scope) == "n3")
        #expect(try ScenarioTemplate("cost: $${price}", at: Self.origin).render(in: scope) == "cost: ${price}")
        #expect(try ScenarioTemplate("cost: $${price}", at: Self.origin).literal == "cost: ${price}")
        #expect(try ScenarioTemplate("${'}'}", at: Self.origin).render(in: scope) == "}")
        #expect(try ScenarioTemplate("plain", at: Self.origin).isConstant)
        do {
            _ = try ScenarioTemplate("/a/${event", at: Self.origin)
            Issue.record("an unclosed template parsed")
        } catch {
            #expect(error.description == "t.yaml:3:13: '${' is not closed by '}'")
        }
        do {
            _ = try ScenarioTemplate("/a/${event +}", at: Self.origin)
            Issue.record("a bad expression parsed")
        } catch {
            #expect(error.position?.column == 22, "\(error)")
        }
    }

    @Test("captures: the JSON-path subset")
    func jsonPaths() throws {
        let body = try #require(
            ScenarioValue(
                jsonBytes: Array(
                    #"""
                    {"id": 7, "ok": true, "price": 2.5, "items": [{"qty": 2, "sku": "a"}, {"qty": 5, "sku": "b"}],
                     "orders": [{"quantity": 1, "status": "paid", "product_id": 9},
                                {"quantity": 3, "status": "cancelled", "product_id": 9},
                                {"quantity": 4, "status": "paid", "product_id": 8}],
                     "odd key": "x"}
                    """#.utf8)))
        func select(_ path: String) throws -> [ScenarioValue] { try JSONPath(path).select(in: body) }
        #expect(try select("$.id") == [7])
        #expect(try select("$.ok") == [true])
        #expect(try select("$.price") == [.double(2.5)])
        #expect(try select("$.items[0].qty") == [2])
        #expect(try select("$.items[-1].sku") == ["b"])
        #expect(try select("$.orders[*].quantity") == [1, 3, 4])
        #expect(try select("$['odd key']") == ["x"])
        #expect(try select("$.orders[?(@.product_id == 9 && @.status != 'cancelled')].quantity") == [1])
        #expect(try select("$.orders[?(@.quantity >= 3)].status") == ["cancelled", "paid"])
        #expect(try select("$.missing") == [])
        #expect(try JSONPath("$.items[0].qty").isDefinite)
        #expect(try !JSONPath("$.items[*].qty").isDefinite)
        for (bad, message) in [
            ("id", "a path starts with '$'"), ("$.items[0", "'[' is not closed"),
            ("$.items[x]", "is not a step this subset knows"), ("$.a[?(@.b ~ 1)]", "a filter compares"),
        ] {
            #expect(throws: JSONPathError.self) { try JSONPath(bad) }
            do { _ = try JSONPath(bad) } catch { #expect(error.message.contains(message), "\(bad): \(error)") }
        }
    }

    @Test("answers are read as JSON: escapes, Unicode, numbers, nesting; anything else is not JSON")
    func jsonReader() throws {
        func read(_ text: String) -> ScenarioValue? { ScenarioValue(jsonBytes: Array(text.utf8)) }
        #expect(
            read(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {}} "#)
                == .object(["a": .list([1, -2, .double(3.5), .double(1000), true, false, .null]), "b": .object([:])]))
        #expect(read(#""tab\t quote\" slash\/ \u00e9 \ud83d\ude00 é""#) == "tab\t quote\" slash/ é 😀 é")
        #expect(read("[]") == .list([]))
        #expect(read("9223372036854775807") == .int(Int.max))
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"open", "1 2", "{\"a\":1,}", "\"\\x\"", "\"\\ud83d\""] {
            #expect(read(bad) == nil, "\(bad)")
        }
        #expect(read(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) == nil)
    }

    @Test("a definite path reads only what lies on it, and finds what a full parse finds")
    func selectiveCapture() throws {
        let text = #"""
            {"skip": {"deep": [1, {"x": "]}"}], "s": "a\"b"}, "k\u0065y": 5, "items": [{"qty": 2}, [3, 4], {"qty": 7}],
             "id": 42, "none": null}
            """#
        let full = try #require(ScenarioValue(jsonBytes: Array(text.utf8)))
        for path in [
            "$.id", "$.key", "$.items[2].qty", "$.items[1][0]", "$.items[-1].qty", "$.none", "$.skip.s",
            "$.missing", "$.items[9]", "$.id.x", "$",
        ] {
            let parsed = try JSONPath(path)
            let selective = parsed.select(inJSON: Array(text.utf8))
            switch selective {
            case .found(let value): #expect(parsed.select(in: full) == [value], "\(path)")
            case .missing: #expect(parsed.select(in: full).isEmpty, "\(path)")
            case .notJSON: Issue.record("\(path): not JSON")
            }
        }
        guard case .notJSON = try JSONPath("$.id").select(inJSON: Array("<html>".utf8)) else {
            Issue.record("HTML read as JSON")
            return
        }
    }

    // MARK: Files

    static let minimal = """
        name: mini
        vars:
          stock: 5
        users:
          count: 2
        phases:
          - executor: barrier
            request:
              name: buy
              method: POST
              path: /buy
              outcomes: {sold: [200], gone: [410]}
        invariants:
          - check: count(buy.sold) <= stock
        """

    func fileError(_ yaml: String, folder: URL? = nil) -> String? {
        do {
            _ = try ScenarioFile(yaml: yaml, file: "s.yaml", folder: folder)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("a body string with $${ but no template sends ${, as a template would render it")
    func escapedBody() throws {
        let yaml = Self.minimal.replacingOccurrences(
            of: "path: /buy", with: "path: /buy\n      body: {note: 'cost $${price}'}")
        let scenario = try ScenarioFile(yaml: yaml, file: "s.yaml")
        let request = try #require(scenario.phases.first?.tasks.first?.steps.first)
        let sent = try request.render(in: Scope(), userHeaders: [])
        #expect(sent.body.map { String(buffer: $0) } == #"{"note":"cost ${price}"}"#)
    }

    @Test("a file that reads: its parts, defaults and endpoints")
    func readsAFile() throws {
        let scenario = try ScenarioFile(yaml: Self.minimal, file: "s.yaml")
        #expect(scenario.name == "mini")
        #expect(scenario.variables.map(\.name) == ["stock"])
        #expect(scenario.endpoints == ["buy"])
        let request = try #require(scenario.phases.first?.tasks.first?.steps.first)
        #expect(request.expected.contains(200) && request.expected.contains(410) && !request.expected.contains(201))
        #expect(scenario.invariants.first?.name.text == "count(buy.sold) <= stock")
    }

    @Test("a scenario in JSON reads as its YAML does, and its mistakes have positions too")
    func jsonFile() throws {
        let json = """
            {"name": "mini", "vars": {"stock": 5}, "users": {"count": 2},
             "phases": [{"executor": "barrier",
                         "request": {"name": "buy", "method": "POST", "path": "/buy",
                                     "outcomes": {"sold": [200], "gone": [410]}}}],
             "invariants": [{"check": "count(buy.sold) <= stock"}]}
            """
        let scenario = try ScenarioFile(yaml: json, file: "s.json")
        #expect(scenario.endpoints == ["buy"] && scenario.invariants.count == 1)
        #expect(
            fileError(json.replacingOccurrences(of: "<= stock", with: "<= stok"))?
                .hasPrefix("s.yaml:5:47: 'stok' is not defined") == true,
            "\(fileError(json.replacingOccurrences(of: "<= stock", with: "<= stok")) ?? "")")
    }

    @Test("mistakes in a file are one line each, with file, line and column")
    func fileErrors() {
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "invariants:", with: "invariant:"))
                == "s.yaml:13:1: unknown key 'invariant' in the scenario (did you mean 'invariants'?); its keys are "
                + "name, description, vars, users, setup, phases, readback, invariants, thresholds, notes, processes, "
                + "proxies, faults, requires, subscribers")
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "path: /buy", with: "path: /buy/${sku}"))
                == "s.yaml:11:20: 'sku' is not defined: not a variable, a capture, a let, a CSV column or a request")
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "buy.sold) <=", with: "buy.sould) <="))?
                .hasPrefix("s.yaml:14:18: request 'buy' has no outcome 'sould'; its outcomes are ") == true)
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "<= stock", with: "<= stok"))
                == "s.yaml:14:31: 'stok' is not defined: not a variable, a capture, a let, a CSV column or a request "
                + "(did you mean 'stock'?)")
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "executor: barrier", with: "executor: burst"))
                == "s.yaml:7:15: unknown executor 'burst': barrier, closed, open, ramp or bad_input")
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "executor: barrier", with: "executor: closed"))
                == "s.yaml:7:5: a closed phase needs 'duration'")
        #expect(fileError(Self.minimal.replacingOccurrences(of: "count: 2", with: "count: [2")) != nil)
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "  stock: 5", with: "  stock: 5\n  user: 1"))
                == "s.yaml:4:3: 'user' is a built-in name; call the variable something else")
        #expect(fileError("phases: {")?.hasPrefix("s.yaml:") == true)
        #expect(
            fileError(Self.minimal.replacingOccurrences(of: "outcomes:", with: "capture: {x: id}\n      outcomes:"))
                == "s.yaml:12:20: a path starts with '$', e.g. $.id")
        let open = """
            phases:
              - executor: open
                rate: 10
                duration: 1s
                steps:
                  - {name: look, path: /look}
                  - {name: buy, path: /buy}
            """
        #expect(
            fileError(open)
                == "s.yaml:6:9: an open phase sends single requests (each arrival is one request): no 'steps', "
                + "'capture', 'let', 'when' or 'think'; use a closed phase for sequences")
    }

    @Test("accounts from CSV: columns are names, and a name no column has is an error with its position")
    func csvAccounts() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ts-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "login,secret\nann,\"pa,ss\"\nbob,word\n".write(
            to: folder.appendingPathComponent("accounts.csv"), atomically: true, encoding: .utf8)
        let yaml = Self.minimal.replacingOccurrences(
            of: "  count: 2",
            with:
                "  csv: accounts.csv\n  provision:\n    - {name: token, method: POST, path: /token, body: {login: \"${login}\", secret: \"${secret}\"}}"
        )
        let scenario = try ScenarioFile(yaml: yaml, file: "s.yaml", folder: folder)
        let accounts = try #require(scenario.users.accounts)
        #expect(accounts.columns == ["login", "secret"])
        #expect(accounts.rows.map { $0["secret"] } == ["pa,ss", "word"])
        let missing = yaml.replacingOccurrences(of: "${secret}", with: "${password}")
        #expect(
            fileError(missing, folder: folder)
                == "s.yaml:7:86: 'password' is not defined: not a variable, a capture, a let, a CSV column or a request"
        )
        let absent = yaml.replacingOccurrences(of: "accounts.csv", with: "nowhere.csv")
        #expect(fileError(absent, folder: folder)?.hasPrefix("s.yaml:5:8: cannot read ") == true)
    }

    @Test("a run's scenarios share users: a later one that needs more makes only the users missing")
    func userPool() async throws {
        let pool = ScenarioUserPool(runID: "r")
        let asked = Mutex<[Range<Int>]>([])
        let make: @Sendable (Range<Int>) async throws -> [UserValues] = { indices in
            asked.withLock { $0.append(indices) }
            return indices.map { ["user": .int($0)] }
        }
        #expect(try await pool.users(100, key: "k", make: make).count == 100)
        #expect(try await pool.users(300, key: "k", make: make).count == 300)
        #expect(try await pool.users(20, key: "k", make: make).map { $0["user"] } == (0..<20).map { .int($0) })
        #expect(try await pool.users(2, key: "other", make: make).count == 2)
        #expect(asked.withLock { $0 } == [0..<100, 100..<300, 0..<2])
    }

    @Test("every bundled scenario reads, and `--set` refuses a variable the file does not have")
    func overrides() throws {
        let race = try BundledScenario.race.load()
        let runner = ScenarioRunner(
            race, context: SuiteContext(target: try LoadTarget(parsing: "http://127.0.0.1:1")),
            overrides: ["users": 7, "seats": 2])
        #expect(throws: ScenarioError.self) { try runner.variables(runID: "x") }
        do { _ = try runner.variables(runID: "x") } catch {
            #expect(error.message.contains("has no variable 'seats'; its variables are users, capacity, amount"))
        }
    }
}

extension ScenarioValue {
    static func == (value: ScenarioValue, number: Int) -> Bool { value == .int(number) }
}
