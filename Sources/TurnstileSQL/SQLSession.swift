import Foundation

/// A value bound to, or read from, a statement: what both SQL stores keep (times as integer milliseconds since
/// 1970, in `…_ms` columns).
public enum SQLValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null

    public init(_ value: Int64) { self = .integer(value) }
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Date) { self = .integer(value.millisecondsSince1970) }
    public init(_ value: String) { self = .text(value) }
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    public init(_ value: Date?) { self = value.map { SQLValue($0) } ?? .null }
}

/// One row a statement returned, read by column name.
public protocol SQLRow: Sendable {
    /// The column's value; nil when the row has no such column.
    func value(_ column: String) -> SQLValue?
}

/// Where a store's SQL runs: one connection (inside a transaction, for the writer). Each adapter renders a
/// ``SQLStatement``'s placeholders its database's way.
public protocol SQLSession: Sendable {
    func query(_ statement: SQLStatement) async throws -> [any SQLRow]

    /// The clause that locks the rows a writer's `SELECT` reads until its transaction ends (` FOR UPDATE`), or
    /// nothing where the transaction already holds the whole database (SQLite).
    var rowLock: SQLStatement { get }
}

extension SQLSession {
    public var rowLock: SQLStatement { "" }

    /// Runs a statement whose rows, if any, are not needed.
    public func execute(_ statement: SQLStatement) async throws {
        _ = try await query(statement)
    }
}

extension Date {
    public init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1_000)
    }

    /// Milliseconds since 1970, clamped to what 64 bits hold (domain validation keeps dates far inside that).
    public var millisecondsSince1970: Int64 {
        Int64(exactly: (timeIntervalSince1970 * 1_000).rounded()) ?? (timeIntervalSince1970 < 0 ? .min : .max)
    }
}
