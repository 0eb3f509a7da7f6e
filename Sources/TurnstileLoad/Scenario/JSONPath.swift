import Foundation

/// The small JSON-path subset captures use: `$` the whole body, `.name` or `['name']` a field, `[2]` an element
/// (`[-1]` the last), `[*]` every element, and `[?(@.field == value)]` the elements whose field compares so with a
/// literal (`== != < <= > >=`, several joined by `&&`).
///
/// A path without `[*]` or a filter is *definite*: it names one value, and finding nothing there is an error. Any
/// other path gives a list, possibly empty.
public struct JSONPath: Sendable, CustomStringConvertible {
    enum Step: Sendable {
        case field(String)
        case element(Int)
        case every
        case filter([Condition])
    }

    struct Condition: Sendable {
        let field: [String]
        let op: ScenarioExpression.BinaryOperator
        let value: ScenarioValue
    }

    let steps: [Step]
    public let description: String

    /// Whether the path names one value rather than a list.
    public var isDefinite: Bool {
        steps.allSatisfy { if case .field = $0 { true } else if case .element = $0 { true } else { false } }
    }

    public init(_ text: String) throws(JSONPathError) {
        description = text
        let characters = Array(text.trimmingWhitespace())
        guard characters.first == "$" else { throw JSONPathError("a path starts with '$', e.g. $.id", at: 0) }
        var steps: [Step] = []
        var index = 1
        func name() -> String {
            var end = index
            while end < characters.count, characters[end] != ".", characters[end] != "[" { end += 1 }
            defer { index = end }
            return String(characters[index..<end])
        }
        while index < characters.count {
            switch characters[index] {
            case ".":
                index += 1
                let field = name()
                guard !field.isEmpty else { throw JSONPathError("a field name must follow '.'", at: index) }
                steps.append(.field(field))
            case "[":
                guard let close = Self.closingBracket(characters, from: index) else {
                    throw JSONPathError("'[' is not closed by ']'", at: index)
                }
                let inside = String(characters[(index + 1)..<close]).trimmingWhitespace()
                if inside == "*" {
                    steps.append(.every)
                } else if let position = Int(inside) {
                    steps.append(.element(position))
                } else if inside.count >= 2, let quote = inside.first, quote == "'" || quote == "\"",
                    inside.last == quote
                {
                    steps.append(.field(String(inside.dropFirst().dropLast())))
                } else if inside.hasPrefix("?(") && inside.hasSuffix(")") {
                    steps.append(.filter(try Self.conditions(String(inside.dropFirst(2).dropLast()), at: index)))
                } else {
                    throw JSONPathError(
                        "'[\(inside)]' is not a step this subset knows: [0], [*], ['name'] or [?(@.field == value)]",
                        at: index)
                }
                index = close + 1
            default:
                throw JSONPathError("expected '.' or '[' here", at: index)
            }
        }
        self.steps = steps
    }

    /// Why the path cannot apply to `value` at all, if it cannot: the first step that had values to work on but found
    /// none of the shape it needs (a field of something that is not an object with that field, a filter over
    /// something that is not a list). A filter that matches nothing, or an empty list, is not a mismatch: the answer
    /// has the shape, just no such elements.
    public func mismatch(in value: ScenarioValue) -> String? {
        var current = [value]
        var walked = "$"
        for step in steps {
            guard !current.isEmpty else { return nil }
            let fits: Bool
            switch step {
            case .field(let name):
                fits = current.contains { if case .object(let fields) = $0 { fields[name] != nil } else { false } }
            case .element, .filter:
                fits = current.contains { if case .list = $0 { true } else { false } }
            case .every:
                fits = current.contains {
                    switch $0 {
                    case .list, .object: true
                    default: false
                    }
                }
            }
            guard fits else {
                let found = Set(current.map(\.kind)).sorted().joined(separator: " or ")
                switch step {
                case .field(let name): return "\(walked) is \(found), with no field '\(name)'"
                default: return "\(walked) is \(found), not a list"
                }
            }
            current = JSONPath(steps: [step], description: "").select(in: current)
            walked += Self.text(of: step)
        }
        return nil
    }

    private init(steps: [Step], description: String) {
        self.steps = steps
        self.description = description
    }

    private static func text(of step: Step) -> String {
        switch step {
        case .field(let name): ".\(name)"
        case .element(let index): "[\(index)]"
        case .every: "[*]"
        case .filter: "[?(…)]"
        }
    }

    private func select(in values: [ScenarioValue]) -> [ScenarioValue] {
        values.flatMap { select(in: $0) }
    }

    /// The values the path selects in `value`: one (or none) for a definite path, every match for the others.
    public func select(in value: ScenarioValue) -> [ScenarioValue] {
        var current = [value]
        for step in steps {
            var next: [ScenarioValue] = []
            for value in current {
                switch (step, value) {
                case (.field(let name), .object(let fields)):
                    if let field = fields[name] { next.append(field) }
                case (.element(let position), .list(let items)):
                    let resolved = position < 0 ? items.count + position : position
                    if items.indices.contains(resolved) { next.append(items[resolved]) }
                case (.every, .list(let items)):
                    next += items
                case (.every, .object(let fields)):
                    next += fields.sorted { $0.key < $1.key }.map(\.value)
                case (.filter(let conditions), .list(let items)):
                    next += items.filter { item in conditions.allSatisfy { $0.holds(for: item) } }
                default:
                    break
                }
            }
            current = next
        }
        return current
    }

    private static func closingBracket(_ characters: [Character], from start: Int) -> Int? {
        var quote: Character?
        var depth = 0
        for index in start..<characters.count {
            let character = characters[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "[" || character == "(" {
                depth += 1
            } else if character == "]" || character == ")" {
                depth -= 1
                if depth == 0 && character == "]" { return index }
            }
        }
        return nil
    }

    /// `@.a == 1 && @.b != 'x'`.
    private static func conditions(_ text: String, at offset: Int) throws(JSONPathError) -> [Condition] {
        var conditions: [Condition] = []
        for part in text.components(separatedBy: "&&") {
            let clause = part.trimmingWhitespace()
            guard let op = ["==", "!=", "<=", ">=", "<", ">"].first(where: { clause.contains($0) }),
                let range = clause.range(of: op)
            else {
                throw JSONPathError("a filter compares a field with a value, e.g. [?(@.status == 'paid')]", at: offset)
            }
            let left = clause[..<range.lowerBound].trimmingWhitespace()
            let right = clause[range.upperBound...].trimmingWhitespace()
            guard left.hasPrefix("@") else {
                throw JSONPathError("a filter's left side is a field of the element: @.name", at: offset)
            }
            let field = left.dropFirst().split(separator: ".").map(String.init)
            let value: ScenarioValue
            if let number = Int(right) {
                value = .int(number)
            } else if let number = Double(right) {
                value = .double(number)
            } else if ["true", "false"].contains(right) {
                value = .bool(right == "true")
            } else if right == "null" {
                value = .null
            } else if right.count >= 2, let quote = right.first, quote == "'" || quote == "\"", right.last == quote {
                value = .string(String(right.dropFirst().dropLast()))
            } else {
                throw JSONPathError("'\(right)' is not a value: a number, 'text', true, false or null", at: offset)
            }
            conditions.append(
                Condition(field: field, op: ScenarioExpression.BinaryOperator(rawValue: op)!, value: value))
        }
        return conditions
    }
}

extension JSONPath.Condition {
    func holds(for item: ScenarioValue) -> Bool {
        var value = item
        for name in field {
            guard case .object(let fields) = value, let next = fields[name] else { return op == .notEqual }
            value = next
        }
        switch op {
        case .equal: return ScenarioExpression.equal(value, self.value)
        case .notEqual: return !ScenarioExpression.equal(value, self.value)
        default:
            guard let a = value.number, let b = self.value.number else { return false }
            switch op {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            default: return a >= b
            }
        }
    }
}

/// A path the subset cannot read, and where in it.
public struct JSONPathError: Error, CustomStringConvertible {
    public let message: String
    public let offset: Int

    init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { message }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
