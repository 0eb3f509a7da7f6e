import Foundation

/// A value in a scenario: a variable, a captured piece of a response, or what an expression computes. JSON's values,
/// with whole numbers kept apart from the others so that counts print as counts.
public enum ScenarioValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ScenarioValue])
    case object([String: ScenarioValue])

    /// How the value reads in a template, an invariant's table row or an error: strings bare, lists bracketed.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .double(let value): Self.describe(value)
        case .string(let value): value
        case .list(let values): "[" + values.map(\.quotedDescription).joined(separator: ", ") + "]"
        case .object: json
        }
    }

    /// The value for a table cell: a long list shows its first and last elements and its length.
    var brief: String {
        guard case .list(let items) = self, items.count > 6 else { return description }
        let shown = items.prefix(3).map(\.quotedDescription) + ["…", items[items.count - 1].quotedDescription]
        return "[" + shown.joined(separator: ", ") + "] (\(items.count))"
    }

    /// Strings in quotes, for inside lists and error messages.
    var quotedDescription: String {
        if case .string(let value) = self { return "\"\(value)\"" }
        return description
    }

    /// The kind of value, for error messages: "a number", "a list".
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .list: "a list"
        case .object: "an object"
        }
    }

    /// The value as JSON text.
    public var json: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .double(let value): value.isFinite ? Self.describe(value) : "null"
        case .string(let value): Self.quoted(value)
        case .list(let values): "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let fields):
            "{"
                + fields.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ":" + $0.value.json }
                .joined(separator: ",") + "}"
        }
    }

    /// The number, when the value is one.
    var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    private static func describe(_ value: Double) -> String {
        // A time that never came to pass (a recovery the run did not see) is infinitely long.
        if value == .infinity { return "never" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                out += String(format: "\\u%04x", control.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension ScenarioValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
