/// Text with `${expression}` in it: paths, header values, body strings, phase names. `$${` writes a literal `${`.
///
/// A template that is one `${…}` and nothing else has the expression's own value, so `seat_count: ${amount}` in a
/// body is the number 2, not the string "2".
public struct ScenarioTemplate: Sendable, CustomStringConvertible {
    enum Part: Sendable {
        case text(String)
        case expression(ScenarioExpression)
    }

    let parts: [Part]
    public let text: String
    public let origin: SourcePosition

    /// Parses `text`, which starts at `origin`; `${` must be closed by `}`.
    public init(_ text: String, at origin: SourcePosition) throws(ScenarioError) {
        self.text = text
        self.origin = origin
        var parts: [Part] = []
        var literal = ""
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            if characters[index] == "$", index + 2 < characters.count, characters[index + 1] == "$",
                characters[index + 2] == "{"
            {
                literal += "${"
                index += 3
                continue
            }
            guard characters[index] == "$", index + 1 < characters.count, characters[index + 1] == "{" else {
                literal.append(characters[index])
                index += 1
                continue
            }
            // The closing brace is the first `}` outside a quoted string.
            var end = index + 2
            var quote: Character?
            while end < characters.count {
                let character = characters[end]
                if let open = quote {
                    if character == "\\" { end += 1 } else if character == open { quote = nil }
                } else if character == "'" || character == "\"" {
                    quote = character
                } else if character == "}" {
                    break
                }
                end += 1
            }
            guard end < characters.count else {
                throw ScenarioError("'${' is not closed by '}'", at: origin.advanced(by: index))
            }
            if !literal.isEmpty { parts.append(.text(literal)) }
            literal = ""
            let inner = String(characters[(index + 2)..<end])
            parts.append(.expression(try ScenarioExpression(inner, at: origin.advanced(by: index + 2))))
            index = end + 1
        }
        if !literal.isEmpty || parts.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    public var description: String { text }

    /// Whether the template has no `${…}` at all.
    var isConstant: Bool { literal != nil }

    /// The text as it renders (`$${` written `${`), when the template has no `${…}` in it.
    var literal: String? {
        var text = ""
        for part in parts {
            guard case .text(let piece) = part else { return nil }
            text += piece
        }
        return text
    }

    /// The expressions in it.
    var expressions: [ScenarioExpression] {
        parts.compactMap { if case .expression(let expression) = $0 { expression } else { nil } }
    }

    /// The template's text with every expression's value written in.
    func render(in scope: some ScenarioScope) throws(ScenarioError) -> String {
        if let literal { return literal }
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .expression(let expression): out += try expression.evaluate(in: scope).description
            }
        }
        return out
    }

    /// The expression's own value when the template is one `${…}`; otherwise the rendered text.
    func value(in scope: some ScenarioScope) throws(ScenarioError) -> ScenarioValue {
        if parts.count == 1, case .expression(let expression) = parts[0] { return try expression.evaluate(in: scope) }
        return .string(try render(in: scope))
    }
}
