import Foundation

/// One SQL statement with its values, written as one string: every interpolated value is bound, never spliced into
/// the text, and each database renders the placeholders its own way (`?` for SQLite, `$1`, `$2`, … for PostgreSQL).
///
/// ```swift
/// let statement: SQLStatement = "SELECT \(columns: Tables.events.columns) FROM events WHERE id = \(eventID)"
/// statement.text { _ in "?" }  // "SELECT id, title, … FROM events WHERE id = ?"
/// statement.binds              // [.integer(eventID)]
/// ```
///
/// Text that is not a value goes in only as what it is: column lists and identifiers the code names
/// (`\(columns:)`, `\(identifier:)`, checked to be plain names), lists of values (`\(list:)`), other statements
/// (spliced with their values) and integer literals where SQL takes no placeholder (`\(literal:)`, a `PRAGMA`).
public struct SQLStatement: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// Text, or a value to bind where it stands.
    public enum Part: Sendable, Hashable {
        case sql(String)
        case value(SQLValue)
    }

    public private(set) var parts: [Part] = []

    public init(stringLiteral sql: String) {
        append(sql: sql)
    }

    public init(stringInterpolation: StringInterpolation) {
        self = stringInterpolation.statement
    }

    /// The values, in the order their placeholders stand.
    public var binds: [SQLValue] {
        parts.compactMap { if case .value(let value) = $0 { value } else { nil } }
    }

    /// The text with each value's placeholder, numbered from 1 in order.
    public func text(placeholder: (_ number: Int) -> String) -> String {
        var text = ""
        var number = 0
        for part in parts {
            switch part {
            case .sql(let sql): text += sql
            case .value:
                number += 1
                text += placeholder(number)
            }
        }
        return text
    }

    /// The text with `?` placeholders, for logs: values never appear in it.
    public var description: String { text { _ in "?" } }

    public mutating func append(_ other: SQLStatement) {
        for part in other.parts {
            switch part {
            case .sql(let sql): append(sql: sql)
            case .value(let value): parts.append(.value(value))
            }
        }
    }

    public static func + (lhs: SQLStatement, rhs: SQLStatement) -> SQLStatement {
        var statement = lhs
        statement.append(rhs)
        return statement
    }

    public static func += (lhs: inout SQLStatement, rhs: SQLStatement) {
        lhs.append(rhs)
    }

    private mutating func append(sql: String) {
        guard !sql.isEmpty else { return }
        if case .sql(let last)? = parts.last {
            parts[parts.count - 1] = .sql(last + sql)
        } else {
            parts.append(.sql(sql))
        }
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var statement = SQLStatement(parts: [])

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: String) {
            statement.append(sql: literal)
        }

        /// A value, bound.
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            statement.parts.append(.value(value.sqlValue))
        }

        /// A value that may be missing, bound (as `NULL` when it is).
        public mutating func appendInterpolation(_ value: (some SQLBindable)?) {
            statement.parts.append(.value(value?.sqlValue ?? .null))
        }

        /// `(?, ?, …)`: a parenthesised list of bound values, for `IN` and `VALUES`. It must not be empty.
        public mutating func appendInterpolation(list values: some Collection<SQLValue>) {
            precondition(!values.isEmpty, "SQL has no empty list")
            statement.append(sql: "(")
            for (index, value) in values.enumerated() {
                if index > 0 { statement.append(sql: ", ") }
                statement.parts.append(.value(value))
            }
            statement.append(sql: ")")
        }

        /// Another statement, with its values.
        public mutating func appendInterpolation(_ other: SQLStatement) {
            statement.append(other)
        }

        /// A table or column the code names: a plain SQL name, never input.
        public mutating func appendInterpolation(identifier: String) {
            precondition(SQLStatement.isPlainName(identifier), "\(identifier) is not a plain SQL name")
            statement.append(sql: identifier)
        }

        /// `a, b, c`: columns the code names.
        public mutating func appendInterpolation(columns: [String]) {
            for (index, column) in columns.enumerated() {
                if index > 0 { statement.append(sql: ", ") }
                appendInterpolation(identifier: column)
            }
        }

        /// An integer written into the text, where SQL takes no placeholder (`PRAGMA user_version = 3`).
        public mutating func appendInterpolation(literal value: Int) {
            statement.append(sql: String(value))
        }
    }

    private init(parts: [Part]) {
        self.parts = parts
    }

    /// Letters, digits and underscores, not starting with a digit.
    static func isPlainName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}

extension Sequence<SQLStatement> {
    /// The statements one after another, `separator` between each two.
    public func joined(separator: SQLStatement) -> SQLStatement {
        var joined: SQLStatement = ""
        for (index, statement) in enumerated() {
            if index > 0 { joined.append(separator) }
            joined.append(statement)
        }
        return joined
    }
}

/// A Swift value a statement binds.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable {
    public var sqlValue: SQLValue { self }
}

extension Int64: SQLBindable {
    public var sqlValue: SQLValue { .integer(self) }
}

extension Int: SQLBindable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension String: SQLBindable {
    public var sqlValue: SQLValue { .text(self) }
}

extension Date: SQLBindable {
    public var sqlValue: SQLValue { .integer(millisecondsSince1970) }
}
