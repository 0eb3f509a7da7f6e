import Foundation
import Testing

@testable import TurnstileLoad

/// Scenario files are read from pull requests: every bomb and every deep nesting is one line of error, never a
/// process that grows without bound or runs out of stack.
@Suite("Hostile scenario files")
struct HostileScenarioTests {
    static let origin = SourcePosition(file: "t.yaml", line: 1, column: 1)

    func fileError(_ yaml: String) -> String? {
        do {
            _ = try ScenarioFile(yaml: yaml, file: "s.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    func expressionError(_ text: String) -> String? {
        do {
            _ = try ScenarioExpression(text, at: Self.origin)
            return nil
        } catch {
            return error.description
        }
    }

    /// The 654-byte "billion laughs": nine levels of ten aliases each, 10⁹ strings once followed.
    static let billionLaughs: String = {
        var lines = [
            "vars:", "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]",
        ]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            let aliases = Array(repeating: "*\(previous)", count: 10).joined(separator: ",")
            lines.append("  \(name): &\(name) [\(aliases)]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test("a billion-laughs file is refused at its first anchor, in one line")
    func billionLaughs() {
        let error = fileError(Self.billionLaughs)
        #expect(error?.hasPrefix("s.yaml:2:6: anchors and aliases (&name, *name, <<: *name) are not supported") == true)
        #expect(error?.contains("\n") == false)
    }

    @Test("a merge-key bomb and a lone alias are refused the same way")
    func mergeKeysAndAliases() {
        var lines = ["vars:", "  k0: &k0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
        for level in 1..<20 {
            lines.append("  k\(level): &k\(level) {<<: [*k\(level - 1), *k\(level - 1)], x\(level): 0}")
        }
        #expect(fileError(lines.joined(separator: "\n"))?.contains("anchors and aliases") == true)
        // A file that only uses an alias names that alias's place (an undefined one would be the parser's error).
        #expect(fileError("vars:\n  a: 1\n  b: *a\n")?.hasPrefix("s.yaml:3:6: anchors and aliases") == true)
    }

    @Test("nesting past the budget, and more values than it allows, are one-line errors")
    func nestingAndSize() {
        let deep = "vars:\n  x: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepError = fileError(deep)
        #expect(deepError?.hasPrefix("s.yaml:2:") == true, "\(deepError ?? "")")
        #expect(
            deepError?.contains("nest more than \(LoadLimits.scenarioYAMLDepthMax) deep") == true, "\(deepError ?? "")")
        let wide =
            "vars:\n  x: [" + Array(repeating: "1", count: LoadLimits.scenarioYAMLNodesMax).joined(separator: ",") + "]"
        #expect(fileError(wide)?.contains("more than \(LoadLimits.scenarioYAMLNodesMax) values") == true)
        let large = String(repeating: "# padding\n", count: LoadLimits.scenarioFileBytesMax / 10 + 1)
        #expect(fileError(large)?.contains("the file is larger than") == true)
    }

    @Test("a file that never ends, or is too large, is refused without being read whole")
    func endlessFile() {
        #expect(throws: ScenarioError.self) { try ScenarioFile(contentsOf: URL(fileURLWithPath: "/dev/zero")) }
        do {
            _ = try ScenarioFile(contentsOf: URL(fileURLWithPath: "/dev/zero"))
        } catch {
            #expect(error.message.contains("larger than \(LoadLimits.scenarioFileBytesMax / 1024) KiB"))
        }
    }

    @Test("10,000 nested brackets, 100,000 terms and long chains of not and minus are errors, not a crash")
    func deepExpressions() {
        let parentheses = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(expressionError(parentheses)?.contains("nests more than \(LoadLimits.expressionDepthMax) deep") == true)
        let lists = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(expressionError(lists)?.contains("nests more than") == true)
        let terms = Array(repeating: "1", count: 100_000).joined(separator: "+")
        #expect(expressionError(terms)?.contains("levels deep here: group a long chain") == true)
        #expect(expressionError(String(repeating: "not ", count: 100_000) + "true")?.contains("nests more") == true)
        #expect(expressionError(String(repeating: "- ", count: 100_000) + "1")?.contains("nests more") == true)
        #expect(expressionError(String(repeating: "x[0]", count: 1) + String(repeating: "[0]", count: 100_000)) != nil)
        // What a person writes stays well inside: a chain of 60 terms, and brackets 30 deep.
        #expect(expressionError(Array(repeating: "1", count: 60).joined(separator: " + ")) == nil)
        #expect(
            expressionError(String(repeating: "(", count: 30) + "1" + String(repeating: ")", count: 30)) == nil)
    }

    @Test("a template with a deep expression in it is an error at its position, in a file too")
    func deepTemplates() {
        let parentheses = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        #expect(throws: ScenarioError.self) { try ScenarioTemplate("/buy/${\(parentheses)}", at: Self.origin) }
        let yaml = """
            phases:
              - executor: barrier
                request: {name: buy, path: "/buy/${\(Array(repeating: "1", count: 100_000).joined(separator: "+"))}"}
            """
        #expect(fileError(yaml)?.hasPrefix("s.yaml:3:") == true)
    }

    struct Scope: ScenarioScope {
        var values: [String: ScenarioValue] = [:]
        func value(of name: String) -> ScenarioValue? { values[name] }
        func count(request: String, outcome: String?) -> Int? { nil }
        func rate(of request: String) -> Double? { nil }
    }

    func evaluationError(_ text: String, _ scope: Scope = Scope()) -> String? {
        do {
            _ = try ScenarioExpression(text, at: Self.origin).evaluate(in: scope)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("arithmetic at the edges of whole numbers is an answer or an error, never a trap")
    func arithmeticEdges() throws {
        let smallest = "(-9223372036854775807 - 1)"
        for text in ["\(smallest) / -1", "\(smallest) % -1", "-\(smallest)", "\(smallest) * -1"] {
            _ = try ScenarioExpression(text, at: Self.origin).evaluate(in: Scope())
        }
        #expect(try ScenarioExpression("-7 / 2", at: Self.origin).evaluate(in: Scope()) == .int(-4))
        #expect(try ScenarioExpression("7 / -2", at: Self.origin).evaluate(in: Scope()) == .int(-4))
        #expect(try ScenarioExpression("-7 % 2", at: Self.origin).evaluate(in: Scope()) == .int(-1))
        for text in ["int(1000000000000000000000.5)", "int('1e300')", "int('nan')", "int(-100000000000000000000.5)"] {
            #expect(evaluationError(text)?.contains("is not a whole number this language can hold") == true, "\(text)")
        }
    }

    @Test("no expression can make a value past the bound: range(), and strings or lists doubled again and again")
    func valueGrowth() {
        #expect(evaluationError("range(1000000000000)")?.contains("the value grows past") == true)
        let big = ScenarioValue.string(String(repeating: "x", count: LoadLimits.expressionValueLengthMax / 2 + 1))
        #expect(evaluationError("s + s", Scope(values: ["s": big]))?.contains("the value grows past") == true)
        let list = ScenarioValue.list(Array(repeating: .int(1), count: LoadLimits.expressionValueLengthMax / 2 + 1))
        #expect(evaluationError("l + l", Scope(values: ["l": list]))?.contains("the value grows past") == true)
        #expect(evaluationError("len(range(1000)) + len('ab' + 'cd')") == nil)
    }

    @Test("a CSV of users comes from the scenario's own folder, never an absolute path or one that climbs out")
    func csvOutsideFolder() {
        for path in ["/etc/passwd", "../secrets.csv", "users/../../x.csv", "~/.env"] {
            let yaml = "users:\n  csv: '\(path)'\nphases:\n  - executor: barrier\n    request: {name: a, path: /a}\n"
            #expect(
                fileError(yaml)
                    == "s.yaml:2:8: 'csv' names a file beside the scenario or below its folder, not \(path)",
                "\(fileError(yaml) ?? "")")
        }
    }
}
