import Foundation

/// Where an expression finds its names' values: variables, captures, and the counts of what the phases saw.
protocol ScenarioScope {
    /// The value of `name` here; nil when it has none (a capture that was not taken).
    func value(of name: String) -> ScenarioValue?
    /// The answers to requests named `request` with one of `outcome`'s statuses (all requests sent when nil, the
    /// answers none of its named outcomes covers for `other`); nil when no request has that name or outcome.
    func count(request: String, outcome: String?) -> Int?
    /// Answers per second to requests named `request`; nil when no request has that name.
    func rate(of request: String) -> Double?
}

extension ScenarioScope {
    func count(request: String, outcome: String?) -> Int? { nil }
    func rate(of request: String) -> Double? { nil }
}

extension ScenarioExpression {
    /// The expression's value in `scope`.
    func evaluate(in scope: some ScenarioScope) throws(ScenarioError) -> ScenarioValue {
        try evaluate(root, in: scope)
    }

    /// The expression's value in `scope`, which must be a boolean.
    func isTrue(in scope: some ScenarioScope) throws(ScenarioError) -> Bool {
        let value = try evaluate(root, in: scope)
        guard case .bool(let truth) = value else {
            throw ScenarioError(
                "'\(text)' must be true or false, but is \(value.kind) (\(value.quotedDescription))",
                at: origin)
        }
        return truth
    }

    /// Judges the expression as an invariant: whether it holds, and what its table row shows as expected and
    /// actual. `a == b` shows b and a; `a <= b` shows "≤ b" and a; `within(x, l, h)` shows "l...h" and x; several
    /// joined by `and` show each part, separated by commas.
    func judge(in scope: some ScenarioScope) throws(ScenarioError) -> (passed: Bool, expected: String, actual: String) {
        var expected: [String] = []
        var actual: [String] = []
        func explain(_ located: Located) throws(ScenarioError) {
            switch located.node {
            case .binary(.and, let left, let right):
                try explain(left)
                try explain(right)
            case .binary(let op, let left, let right) where op.isComparison:
                let right = try evaluate(right, in: scope)
                actual.append(try evaluate(left, in: scope).brief)
                expected.append(op == .equal ? right.brief : "\(op.symbol) \(right.brief)")
            case .call(.within, let arguments):
                let values = try arguments.map { argument throws(ScenarioError) in try evaluate(argument, in: scope) }
                actual.append(values[0].brief)
                expected.append(values[1] == values[2] ? values[1].brief : "\(values[1].brief)...\(values[2].brief)")
            default:
                actual.append(try evaluate(located, in: scope).brief)
                expected.append("true")
            }
        }
        let passed = try isTrue(in: scope)
        try explain(root)
        return (passed, expected.joined(separator: ", "), actual.joined(separator: ", "))
    }

    /// The parts of a condition joined by `or` (or the whole) that hold in `scope`, each with what was measured: a
    /// comparison of a name as `p99_ms 1204.3 > 1000`, anything else as its value. Which part of a ramp's `stop`
    /// met its limit.
    func partsThatHold(in scope: some ScenarioScope) throws(ScenarioError) -> [String] {
        var parts: [Located] = []
        func split(_ located: Located) {
            if case .binary(.or, let left, let right) = located.node {
                split(left)
                split(right)
            } else {
                parts.append(located)
            }
        }
        split(root)
        var holding: [String] = []
        for part in parts {
            guard case .bool(true) = try evaluate(part, in: scope) else { continue }
            if case .binary(let op, let left, let right) = part.node, op.isComparison {
                let name = if case .name(let path) = left.node { path.joined(separator: ".") + " " } else { "" }
                holding.append(
                    "\(name)\(try evaluate(left, in: scope).brief) \(op.symbol) \(try evaluate(right, in: scope).brief)"
                )
            } else {
                holding.append(text)
            }
        }
        return holding
    }

    private func evaluate(_ located: Located, in scope: some ScenarioScope) throws(ScenarioError) -> ScenarioValue {
        switch located.node {
        case .literal(let value):
            return value
        case .name(let path):
            return try lookUp(path, at: located.offset, in: scope)
        case .list(let items):
            return .list(try items.map { item throws(ScenarioError) in try evaluate(item, in: scope) })
        case .negate(let inner):
            switch try evaluate(inner, in: scope) {
            case .int(let value): return .int(0 &- value)
            case .double(let value): return .double(-value)
            case let other: throw fail("'-' needs a number, not \(other.kind)", located)
            }
        case .not(let inner):
            guard case .bool(let value) = try evaluate(inner, in: scope) else {
                throw fail("'not' needs true or false", located)
            }
            return .bool(!value)
        case .binary(let op, let left, let right):
            return try binary(op, left, right, at: located, in: scope)
        case .index(let base, let position):
            let list = try evaluate(base, in: scope)
            let position = try evaluate(position, in: scope)
            guard case .list(let items) = list, case .int(let index) = position else {
                throw fail("only a list can be indexed, by a whole number", located)
            }
            let resolved = index < 0 ? items.count + index : index
            guard items.indices.contains(resolved) else {
                throw fail("index \(index) is outside the list of \(items.count)", located)
            }
            return items[resolved]
        case .call(let function, let arguments):
            return try call(function, arguments, at: located, in: scope)
        }
    }

    private func lookUp(
        _ path: [String], at offset: Int, in scope: some ScenarioScope
    ) throws(ScenarioError)
        -> ScenarioValue
    {
        guard var value = scope.value(of: path[0]) else {
            throw ScenarioError("'\(path[0])' has no value here", at: position(offset))
        }
        for field in path.dropFirst() {
            switch value {
            case .object(let fields):
                guard let next = fields[field] else {
                    throw ScenarioError("'\(path[0])' has no field '\(field)'", at: position(offset))
                }
                value = next
            case .list(let items):
                // A field of a list is that field of each element: `orders.quantity`.
                value = .list(
                    items.compactMap { item -> ScenarioValue? in
                        if case .object(let fields) = item { return fields[field] }
                        return nil
                    })
            default:
                throw ScenarioError(
                    "'\(path.joined(separator: "."))': \(path[0]) is \(value.kind), which has no fields",
                    at: position(offset))
            }
        }
        return value
    }

    private func binary(
        _ op: BinaryOperator, _ leftNode: Located, _ rightNode: Located, at located: Located,
        in scope: some ScenarioScope
    ) throws(ScenarioError) -> ScenarioValue {
        if op == .and || op == .or {
            guard case .bool(let left) = try evaluate(leftNode, in: scope) else {
                throw fail("'\(op.rawValue)' needs true or false on its left", located)
            }
            if op == .and && !left { return .bool(false) }
            if op == .or && left { return .bool(true) }
            guard case .bool(let right) = try evaluate(rightNode, in: scope) else {
                throw fail("'\(op.rawValue)' needs true or false on its right", located)
            }
            return .bool(right)
        }
        let left = try evaluate(leftNode, in: scope)
        let right = try evaluate(rightNode, in: scope)
        switch op {
        case .equal: return .bool(Self.equal(left, right))
        case .notEqual: return .bool(!Self.equal(left, right))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let order: ComparisonResult
            if let a = left.number, let b = right.number {
                order = a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
            } else if case .string(let a) = left, case .string(let b) = right {
                order = a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
            } else {
                throw fail(
                    "'\(op.rawValue)' compares two numbers or two strings, not \(left.kind) and \(right.kind)",
                    located)
            }
            switch op {
            case .less: return .bool(order == .orderedAscending)
            case .lessOrEqual: return .bool(order != .orderedDescending)
            case .greater: return .bool(order == .orderedDescending)
            default: return .bool(order != .orderedAscending)
            }
        case .add:
            switch (left, right) {
            case (.string(let a), _): return .string(try bounded(a + right.description, at: located))
            case (_, .string(let b)): return .string(try bounded(left.description + b, at: located))
            case (.list(let a), .list(let b)):
                guard a.count + b.count <= LoadLimits.expressionValueLengthMax else {
                    throw fail(Self.tooLong, located)
                }
                return .list(a + b)
            default: break
            }
            fallthrough
        default:
            return try arithmetic(op, left, right, at: located)
        }
    }

    private static let tooLong =
        "the value grows past \(LoadLimits.expressionValueLengthMax) characters or elements, the most an expression "
        + "makes"

    /// `text`, unless it is longer than an expression may make (doubling a string in a chain of lets would
    /// otherwise grow it without bound).
    private func bounded(_ text: String, at located: Located) throws(ScenarioError) -> String {
        guard text.utf8.count <= LoadLimits.expressionValueLengthMax else { throw fail(Self.tooLong, located) }
        return text
    }

    /// `number` rounded down, as a whole number, if one can hold it.
    private func whole(_ number: Double, at located: Located) throws(ScenarioError) -> Int {
        let rounded = number.rounded(.down)
        guard let whole = Int(exactly: rounded) else {
            throw fail("\(number) is not a whole number this language can hold", located)
        }
        return whole
    }

    private func arithmetic(
        _ op: BinaryOperator, _ left: ScenarioValue, _ right: ScenarioValue, at located: Located
    )
        throws(ScenarioError) -> ScenarioValue
    {
        if case .int(let a) = left, case .int(let b) = right {
            switch op {
            case .add: return .int(a &+ b)
            case .subtract: return .int(a &- b)
            case .multiply: return .int(a &* b)
            default:
                guard b != 0 else { throw fail("division by zero", located) }
                // The one quotient a whole number cannot hold, and its remainder, which traps the same way.
                guard b != -1 else { return op == .divide ? .int(0 &- a) : .int(0) }
                // Rounds down, as counts of whole seats or units do: 7 / 2 is 3, -7 / 2 is -4.
                let (quotient, remainder) = a.quotientAndRemainder(dividingBy: b)
                guard op == .divide else { return .int(remainder) }
                return .int(remainder != 0 && (remainder < 0) != (b < 0) ? quotient - 1 : quotient)
            }
        }
        guard let a = left.number, let b = right.number else {
            throw fail("'\(op.rawValue)' needs numbers, not \(left.kind) and \(right.kind)", located)
        }
        switch op {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw fail("division by zero", located) }
            return .double(a / b)
        default:
            guard b != 0 else { throw fail("division by zero", located) }
            return .double(a.truncatingRemainder(dividingBy: b))
        }
    }

    static func equal(_ left: ScenarioValue, _ right: ScenarioValue) -> Bool {
        if let a = left.number, let b = right.number { return a == b }
        if case .list(let a) = left, case .list(let b) = right {
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        }
        return left == right
    }

    private func call(
        _ function: ScenarioFunction, _ arguments: [Located], at located: Located, in scope: some ScenarioScope
    ) throws(ScenarioError) -> ScenarioValue {
        // Functions that read names rather than values first.
        switch function {
        case .has:
            guard case .name(let path) = arguments[0].node, path.count == 1 else {
                throw fail("has() takes a name, e.g. has(order)", located)
            }
            return .bool(scope.value(of: path[0]) != nil)
        case .count where arguments.count == 1:
            if case .name(let path) = arguments[0].node, path.count <= 2,
                let count = scope.count(request: path[0], outcome: path.count == 2 ? path[1] : nil)
            {
                return .int(count)
            }
        case .rate:
            guard case .name(let path) = arguments[0].node, path.count == 1, let rate = scope.rate(of: path[0]) else {
                throw fail("rate() takes the name of a request, e.g. rate(book)", located)
            }
            return .double(rate)
        default: break
        }
        let values = try arguments.map { argument throws(ScenarioError) in try evaluate(argument, in: scope) }
        func list(_ value: ScenarioValue) throws(ScenarioError) -> [ScenarioValue] {
            guard case .list(let items) = value else {
                throw fail("\(function.rawValue)() needs a list, not \(value.kind)", located)
            }
            return items
        }
        func int(_ value: ScenarioValue) throws(ScenarioError) -> Int {
            guard case .int(let number) = value else {
                throw fail("\(function.rawValue)() needs whole numbers, not \(value.kind)", located)
            }
            return number
        }
        switch function {
        case .count:
            let items = try list(values[0])
            if values.count == 2 { return .int(items.filter { Self.equal($0, values[1]) }.count) }
            return .int(items.count)
        case .len:
            if case .string(let text) = values[0] { return .int(text.count) }
            return .int(try list(values[0]).count)
        case .sum:
            var total = ScenarioValue.int(0)
            for item in try list(values[0]) {
                guard item.number != nil else { throw fail("sum() needs numbers, found \(item.kind)", located) }
                total = try arithmetic(.add, total, item, at: located)
            }
            return total
        case .min, .max:
            let items = values.count == 1 ? try list(values[0]) : values
            var best: ScenarioValue?
            for item in items where item != .null {
                guard let number = item.number else { throw fail("\(function.rawValue)() needs numbers", located) }
                if let current = best?.number, function == .min ? current <= number : current >= number { continue }
                best = item
            }
            return best ?? .null
        case .within:
            guard let x = values[0].number, let low = values[1].number, let high = values[2].number else {
                throw fail("within() needs numbers", located)
            }
            return .bool(low <= x && x <= high)
        case .ascending:
            let items = try list(values[0])
            let step = values.count == 2 ? values[1].number ?? 1 : 1
            var previous: Double?
            for item in items {
                guard let number = item.number else { throw fail("ascending() needs numbers", located) }
                if let previous, number < previous + step { return .bool(false) }
                previous = number
            }
            return .bool(true)
        case .range:
            let count = try int(values[0])
            guard count <= LoadLimits.expressionValueLengthMax else { throw fail(Self.tooLong, located) }
            return .list(count >= 1 ? (1...count).map { .int($0) } : [])
        case .tally:
            let counts = Dictionary(grouping: try list(values[0]).map(\.description), by: { $0 }).mapValues(\.count)
            return .string(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        case .pick:
            let index = try int(values[0])
            let choices = values.count - 1
            return values[1 + ((index % choices) + choices) % choices]
        case .if:
            guard case .bool(let condition) = values[0] else { throw fail("if() needs true or false first", located) }
            return condition ? values[1] : values[2]
        case .random:
            let low = try int(values[0])
            let high = try int(values[1])
            guard low <= high else { throw fail("random(low, high) needs low ≤ high", located) }
            return .int(Int.random(in: low...high))
        case .uuid:
            return .string(UUID().uuidString.lowercased())
        case .int:
            switch values[0] {
            case .int: return values[0]
            case .double(let number): return .int(try whole(number, at: located))
            case .string(let text):
                if let number = Int(text) { return .int(number) }
                guard let number = Double(text) else { throw fail("int() cannot read '\(text)' as a number", located) }
                return .int(try whole(number, at: located))
            case let other: throw fail("int() needs a number or a string, not \(other.kind)", located)
            }
        case .str:
            return .string(values[0].description)
        case .repeat:
            guard case .string(let text) = values[0], case .int(let times) = values[1], times >= 0 else {
                throw fail("repeat() takes a string and a whole number of times, at least 0", located)
            }
            guard text.utf8.count.multipliedReportingOverflow(by: times).partialValue <= LoadLimits.requestBodyBytesMax,
                text.isEmpty || times <= LoadLimits.requestBodyBytesMax
            else {
                throw fail("repeat() makes at most \(LoadLimits.requestBodyBytesMax >> 20) MiB", located)
            }
            return .string(String(repeating: text, count: times))
        case .missing:
            let present = Set(try list(values[1]).map(Self.key))
            return .list(try list(values[0]).filter { !present.contains(Self.key($0)) })
        case .has, .rate:
            // Both read a name rather than a value, and returned above.
            throw fail("\(function.rawValue)() takes a name", located)
        }
    }

    /// A value as `missing()` compares it: numbers by value, so `7` and `7.0` (an id read from JSON both ways) match.
    private static func key(_ value: ScenarioValue) -> ScenarioValue {
        if case .int(let number) = value { return .double(Double(number)) }
        return value
    }

    private func fail(_ message: String, _ located: Located) -> ScenarioError {
        ScenarioError(message, at: position(located.offset))
    }
}
