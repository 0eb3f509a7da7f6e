import Foundation

/// A small, safe expression: the language of invariants, `when:` conditions and `${…}` templates.
///
/// Numbers, strings in single or double quotes, `true`, `false`, `null`, lists `[1, 2]`; names of variables and
/// captured values (`left`, `token`), and `request.outcome` inside `count(…)`; `+ - * / %` (`/` on whole numbers
/// rounds down), comparisons `== != < <= > >=` (also `≤ ≥ ≠`), `and or not` (also `&& || !`), indexing `list[0]`,
/// and the functions of ``ScenarioFunction``. Nothing in it can run code, touch files or loop: every expression
/// ends, in time linear in its length and the data it reads.
///
/// A class: immutable once parsed, and read on the hot path of every templated request, where copying its parts
/// would cost more than evaluating it.
public final class ScenarioExpression: Sendable, CustomStringConvertible {
    indirect enum Node: Sendable {
        case literal(ScenarioValue)
        /// `a` or `a.b.c`: a variable, a field of one, or (inside `count` and `rate`) a request and its outcome.
        case name([String])
        case list([Located])
        case call(ScenarioFunction, [Located])
        case negate(Located)
        case not(Located)
        case binary(BinaryOperator, Located, Located)
        case index(Located, Located)
    }

    /// A node and where it starts in the expression's text.
    struct Located: Sendable {
        let node: Node
        let offset: Int
        /// How many levels the node's tree has, itself included: what evaluating it recurses through.
        let height: Int

        init(node: Node, offset: Int) {
            self.node = node
            self.offset = offset
            height = 1 + node.children.reduce(0) { Swift.max($0, $1.height) }
        }
    }

    enum BinaryOperator: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case and, or

        /// How the operator reads in an invariant's "expected" column.
        var symbol: String {
            switch self {
            case .lessOrEqual: "≤"
            case .greaterOrEqual: "≥"
            case .notEqual: "≠"
            default: rawValue
            }
        }

        var isComparison: Bool {
            [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(self)
        }
    }

    let root: Located
    /// The expression as written.
    public let text: String
    /// Where its first character is in the file.
    public let origin: SourcePosition

    /// Parses `text`, which starts at `origin` in its file; errors point at the offending character.
    public init(_ text: String, at origin: SourcePosition) throws(ScenarioError) {
        self.text = text
        self.origin = origin
        var parser = ExpressionParser(text: text, origin: origin)
        root = try parser.parseWhole()
    }

    public var description: String { text }

    /// The position of a character of the expression, for errors.
    func position(_ offset: Int) -> SourcePosition { origin.advanced(by: offset) }

    /// Whether the expression's value can change between two evaluations in the same scope, or when any of
    /// `changing` changes: it reads one of them, or calls `random()` or `uuid()`.
    func isVolatile(changing: Set<String>) -> Bool {
        func visit(_ located: Located) -> Bool {
            switch located.node {
            case .literal: false
            case .name(let path): changing.contains(path[0])
            case .list(let items): items.contains(where: visit)
            case .call(let function, let arguments):
                function == .random || function == .uuid || arguments.contains(where: visit)
            case .negate(let inner), .not(let inner): visit(inner)
            case .binary(_, let left, let right), .index(let left, let right): visit(left) || visit(right)
            }
        }
        return visit(root)
    }

    /// Every name the expression reads (the first part of `a.b`), with its position, for checking before a run.
    var names: [(name: [String], position: SourcePosition)] {
        var found: [(name: [String], position: SourcePosition)] = []
        func visit(_ located: Located) {
            switch located.node {
            case .literal: break
            case .name(let path): found.append((path, position(located.offset)))
            case .list(let items): items.forEach(visit)
            case .call(_, let arguments): arguments.forEach(visit)
            case .negate(let inner), .not(let inner): visit(inner)
            case .binary(_, let left, let right), .index(let left, let right):
                visit(left)
                visit(right)
            }
        }
        visit(root)
        return found
    }
}

extension ScenarioExpression.Node {
    /// The nodes directly under this one.
    var children: [ScenarioExpression.Located] {
        switch self {
        case .literal, .name: []
        case .list(let items), .call(_, let items): items
        case .negate(let inner), .not(let inner): [inner]
        case .binary(_, let left, let right), .index(let left, let right): [left, right]
        }
    }
}

/// The functions an expression may call. Each takes a fixed number of arguments (or a range of them).
public enum ScenarioFunction: String, Sendable, CaseIterable {
    /// `count(request)`: requests sent; `count(request.outcome)`: answers with one of the outcome's statuses;
    /// `count(list)`: its length; `count(list, value)`: how many elements equal `value`.
    case count
    /// `len(list or string)`.
    case len
    /// `sum(list)` of numbers.
    case sum
    /// `min(list)` or `min(a, b, …)`; null for an empty list.
    case min
    /// `max(list)` or `max(a, b, …)`; null for an empty list.
    case max
    /// `has(name)`: whether the name has a value here (a capture that was taken).
    case has
    /// `within(x, low, high)`: low ≤ x ≤ high; its table row reads "low...high".
    case within
    /// `ascending(list)` or `ascending(list, step)`: each element at least `step` (default 1) above the one before.
    case ascending
    /// `range(a, b)`: the whole numbers a…b, as a list (empty when b < a).
    case range
    /// `tally(list)`: the elements counted, as text: "cancelled 20, shipped 10".
    case tally
    /// `pick(i, a, b, …)`: the i-th of the values after it, counting from 0 and wrapping around.
    case pick
    /// `if(condition, then, else)`.
    case `if`
    /// `random(low, high)`: a whole number low…high, new each time.
    case random
    /// `uuid()`: a random UUID, new each time.
    case uuid
    /// `rate(request)`: answers per second over the phases that sent the request.
    case rate
    /// `int(x)`: a number or numeric string as a whole number (rounded down).
    case int
    /// `str(x)`: the value as text.
    case str
    /// `missing(list, other)`: the elements of `list` that `other` lacks, in order (each id acknowledged but not
    /// stored, say).
    case missing
    /// `repeat(text, n)`: the text n times over, up to ``LoadLimits/requestBodyBytesMax`` bytes (past the 1 MiB
    /// other strings stop at: a test of a size limit needs a body that large, not a line that long in its file).
    case `repeat`

    /// How many arguments it takes.
    var arity: ClosedRange<Int> {
        switch self {
        case .uuid: 0...0
        case .len, .sum, .has, .range, .tally, .rate, .int, .str: 1...1
        case .count, .ascending: 1...2
        case .random, .missing, .repeat: 2...2
        case .within, .if: 3...3
        case .min, .max: 1...Int.max
        case .pick: 2...Int.max
        }
    }
}

/// A recursive-descent parser over the expression's characters.
private struct ExpressionParser {
    typealias Located = ScenarioExpression.Located

    private enum Token: Equatable {
        case number(ScenarioValue)
        case string(String)
        case word(String)
        case symbol(String)
        case end
    }

    private let characters: [Character]
    private let origin: SourcePosition
    private var index = 0
    private var token: Token = .end
    private var tokenOffset = 0
    /// How deep the parser has recursed: each bracket, `not` and unary `-` is one level.
    private var depth = 0

    init(text: String, origin: SourcePosition) {
        characters = Array(text)
        self.origin = origin
    }

    mutating func parseWhole() throws(ScenarioError) -> Located {
        try advance()
        guard token != .end else { throw error("an empty expression", at: 0) }
        let root = try parseOr()
        guard token == .end else { throw error("unexpected \(describe(token)) after a complete expression") }
        return root
    }

    // MARK: Grammar, loosest binding first.

    private mutating func parseOr() throws(ScenarioError) -> Located {
        try descend()
        defer { depth -= 1 }
        var left = try parseAnd()
        while token == .word("or") || token == .symbol("||") {
            let offset = tokenOffset
            try advance()
            left = try make(.binary(.or, left, try parseAnd()), at: offset)
        }
        return left
    }

    /// Goes one level deeper, or refuses an expression nested past ``LoadLimits/expressionDepthMax`` before the
    /// recursion can exhaust the stack.
    private mutating func descend() throws(ScenarioError) {
        depth += 1
        guard depth <= LoadLimits.expressionDepthMax else {
            throw error("the expression nests more than \(LoadLimits.expressionDepthMax) deep here")
        }
    }

    /// A node, unless its tree is taller than ``LoadLimits/expressionDepthMax`` (a chain `a + b + c …` of that
    /// many terms): evaluating it recurses once per level.
    private func make(_ node: ScenarioExpression.Node, at offset: Int) throws(ScenarioError) -> Located {
        let located = Located(node: node, offset: offset)
        guard located.height <= LoadLimits.expressionDepthMax else {
            throw error(
                "the expression is more than \(LoadLimits.expressionDepthMax) levels deep here: group a long "
                    + "chain of operators in brackets, (a + b) + (c + d)", at: offset)
        }
        return located
    }

    private mutating func parseAnd() throws(ScenarioError) -> Located {
        var left = try parseNot()
        while token == .word("and") || token == .symbol("&&") {
            let offset = tokenOffset
            try advance()
            left = try make(.binary(.and, left, try parseNot()), at: offset)
        }
        return left
    }

    private mutating func parseNot() throws(ScenarioError) -> Located {
        if token == .word("not") || token == .symbol("!") {
            let offset = tokenOffset
            try advance()
            try descend()
            defer { depth -= 1 }
            return try make(.not(try parseNot()), at: offset)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ScenarioError) -> Located {
        let left = try parseSum()
        guard case .symbol(let symbol) = token, let op = ScenarioExpression.BinaryOperator(rawValue: symbol),
            op.isComparison
        else { return left }
        let offset = tokenOffset
        try advance()
        let right = try parseSum()
        if case .symbol(let next) = token, ScenarioExpression.BinaryOperator(rawValue: next)?.isComparison == true {
            throw error("comparisons do not chain: write 'a <= b and b <= c'")
        }
        return try make(.binary(op, left, right), at: offset)
    }

    private mutating func parseSum() throws(ScenarioError) -> Located {
        var left = try parseProduct()
        while case .symbol(let symbol) = token, symbol == "+" || symbol == "-" {
            let offset = tokenOffset
            try advance()
            left = try make(.binary(symbol == "+" ? .add : .subtract, left, try parseProduct()), at: offset)
        }
        return left
    }

    private mutating func parseProduct() throws(ScenarioError) -> Located {
        var left = try parseUnary()
        while case .symbol(let symbol) = token, ["*", "/", "%"].contains(symbol) {
            let offset = tokenOffset
            try advance()
            let op: ScenarioExpression.BinaryOperator =
                symbol == "*" ? .multiply : symbol == "/" ? .divide : .remainder
            left = try make(.binary(op, left, try parseUnary()), at: offset)
        }
        return left
    }

    private mutating func parseUnary() throws(ScenarioError) -> Located {
        if token == .symbol("-") {
            let offset = tokenOffset
            try advance()
            try descend()
            defer { depth -= 1 }
            return try make(.negate(try parseUnary()), at: offset)
        }
        var value = try parsePrimary()
        while token == .symbol("[") {
            let offset = tokenOffset
            try advance()
            let position = try parseOr()
            try expect("]")
            value = try make(.index(value, position), at: offset)
        }
        return value
    }

    private mutating func parsePrimary() throws(ScenarioError) -> Located {
        let offset = tokenOffset
        switch token {
        case .number(let value):
            try advance()
            return try make(.literal(value), at: offset)
        case .string(let value):
            try advance()
            return try make(.literal(.string(value)), at: offset)
        case .symbol("("):
            try advance()
            let inner = try parseOr()
            try expect(")")
            return inner
        case .symbol("["):
            try advance()
            let items = try parseArguments(closing: "]")
            return try make(.list(items), at: offset)
        case .word(let word):
            try advance()
            switch word {
            case "true": return try make(.literal(.bool(true)), at: offset)
            case "false": return try make(.literal(.bool(false)), at: offset)
            case "null": return try make(.literal(.null), at: offset)
            case "and", "or", "not": throw error("'\(word)' needs a value before it", at: offset)
            default: break
            }
            if token == .symbol("(") {
                guard let function = ScenarioFunction(rawValue: word) else {
                    throw error(
                        "unknown function '\(word)'; the functions are "
                            + ScenarioFunction.allCases.map(\.rawValue).joined(separator: ", "), at: offset)
                }
                try advance()
                let arguments = try parseArguments(closing: ")")
                guard function.arity.contains(arguments.count) else {
                    let arity = function.arity
                    let wanted =
                        arity.count == 1
                        ? "\(arity.lowerBound)"
                        : arity.upperBound == .max
                            ? "at least \(arity.lowerBound)"
                            : "\(arity.lowerBound) or \(arity.upperBound)"
                    throw error(
                        "\(word)() takes \(wanted) argument\(arity == 1...1 ? "" : "s"), not \(arguments.count)",
                        at: offset)
                }
                return try make(.call(function, arguments), at: offset)
            }
            var path = [word]
            while token == .symbol(".") {
                try advance()
                guard case .word(let part) = token else { throw error("a name must follow '.'") }
                path.append(part)
                try advance()
            }
            return try make(.name(path), at: offset)
        case .end:
            throw error("the expression ends where a value should follow")
        default:
            throw error("unexpected \(describe(token))")
        }
    }

    private mutating func parseArguments(closing: String) throws(ScenarioError) -> [Located] {
        var items: [Located] = []
        if token == .symbol(closing) {
            try advance()
            return items
        }
        while true {
            items.append(try parseOr())
            if token == .symbol(closing) {
                try advance()
                return items
            }
            guard token == .symbol(",") else {
                throw error("expected ',' or '\(closing)', found \(describe(token))")
            }
            try advance()
        }
    }

    private mutating func expect(_ symbol: String) throws(ScenarioError) {
        guard token == .symbol(symbol) else { throw error("expected '\(symbol)', found \(describe(token))") }
        try advance()
    }

    // MARK: Tokens

    private static let symbols = [
        "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", ".", "+", "-", "*", "/",
        "%", "<", ">", "!",
    ]
    private static let synonyms: [Character: String] = ["≤": "<=", "≥": ">=", "≠": "!="]

    private mutating func advance() throws(ScenarioError) {
        while index < characters.count, characters[index].isWhitespace { index += 1 }
        tokenOffset = index
        guard index < characters.count else {
            token = .end
            return
        }
        let character = characters[index]
        if character.isNumber, character.isASCII {
            var end = index
            while end < characters.count, characters[end].isASCII, characters[end].isNumber || characters[end] == "_" {
                end += 1
            }
            var isFraction = false
            if end + 1 < characters.count, characters[end] == ".", characters[end + 1].isNumber {
                isFraction = true
                end += 1
                while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
            }
            let text = String(characters[index..<end]).replacingOccurrences(of: "_", with: "")
            index = end
            if isFraction, let value = Double(text) {
                token = .number(.double(value))
            } else if let value = Int(text) {
                token = .number(.int(value))
            } else {
                throw error("'\(text)' is not a number this language can hold", at: tokenOffset)
            }
        } else if character == "'" || character == "\"" {
            var end = index + 1
            var text = ""
            while end < characters.count, characters[end] != character {
                if characters[end] == "\\", end + 1 < characters.count {
                    end += 1
                    text.append(characters[end] == "n" ? "\n" : characters[end] == "t" ? "\t" : characters[end])
                } else {
                    text.append(characters[end])
                }
                end += 1
            }
            guard end < characters.count else { throw error("this string has no closing \(character)", at: index) }
            index = end + 1
            token = .string(text)
        } else if character.isLetter || character == "_" {
            var end = index
            while end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
            {
                end += 1
            }
            token = .word(String(characters[index..<end]))
            index = end
        } else if let synonym = Self.synonyms[character] {
            token = .symbol(synonym)
            index += 1
        } else if let symbol = Self.symbols.first(where: { matches($0) }) {
            token = .symbol(symbol == "=" ? "==" : symbol)
            index += symbol.count
        } else if character == "=" {
            throw error("'=' alone is not an operator: compare with '=='", at: index)
        } else {
            throw error("unexpected character '\(character)'", at: index)
        }
    }

    private func matches(_ symbol: String) -> Bool {
        let symbolCharacters = Array(symbol)
        guard index + symbolCharacters.count <= characters.count else { return false }
        return Array(characters[index..<(index + symbolCharacters.count)]) == symbolCharacters
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .number(let value): "number \(value)"
        case .string(let value): "string \"\(value)\""
        case .word(let word): "'\(word)'"
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "the end of the expression"
        }
    }

    private func error(_ message: String, at offset: Int? = nil) -> ScenarioError {
        ScenarioError(message, at: origin.advanced(by: offset ?? tokenOffset))
    }
}
