import Foundation
import PostgresNIO
import Testing
import TurnstileSQL

@testable import TurnstilePostgres

/// One statement, two renderings: values are bound in order, never written into the text.
@Suite("SQL statements")
struct SQLStatementTests {
    private let id: Int64 = 42
    private let email = "a'; DROP TABLE users; --@x.io"

    @Test("interpolated values become placeholders, in order: ? for SQLite, $n for PostgreSQL")
    func placeholders() {
        let statement: SQLStatement =
            "SELECT \(columns: ["id", "email"]) FROM users WHERE id = \(id) AND email = \(email) AND note = \(String?.none)"
        #expect(statement.text { _ in "?" } == "SELECT id, email FROM users WHERE id = ? AND email = ? AND note = ?")
        #expect(statement.binds == [.integer(42), .text(email), .null])
        let query = PostgresQuery(statement)
        #expect(query.sql == "SELECT id, email FROM users WHERE id = $1 AND email = $2 AND note = $3")
        #expect(query.binds.count == 3)
    }

    @Test("lists, spliced statements and joins keep every value, numbered across the whole statement")
    func composition() {
        let condition: SQLStatement = "status = \("held") AND expires_at_ms <= \(Date(timeIntervalSince1970: 2))"
        var statement: SQLStatement = "SELECT 1 FROM bookings WHERE \(condition)"
        statement += " AND event_id IN \(list: [SQLValue.integer(7), .integer(8)])"
        let rows = [[SQLValue.integer(1), .text("a")], [.integer(2), .text("b")]].map { row -> SQLStatement in
            "\(list: row)"
        }
        statement += " OR (user_id, key) IN (VALUES \(rows.joined(separator: ", ")))"
        #expect(
            statement.text { "$\($0)" }
                == "SELECT 1 FROM bookings WHERE status = $1 AND expires_at_ms <= $2 AND event_id IN ($3, $4) "
                + "OR (user_id, key) IN (VALUES ($5, $6), ($7, $8))")
        #expect(
            statement.binds == [
                .text("held"), .integer(2_000), .integer(7), .integer(8), .integer(1), .text("a"), .integer(2),
                .text("b"),
            ])
        #expect(PostgresQuery(statement).sql == statement.text { "$\($0)" })
    }

    @Test("text that is not a value goes in only as a plain name or an integer")
    func namesAndLiterals() {
        let statement: SQLStatement = "PRAGMA user_version = \(literal: 6); SELECT \(identifier: "next_users")"
        #expect(statement.text { _ in "?" } == "PRAGMA user_version = 6; SELECT next_users")
        #expect(statement.binds.isEmpty)
        #expect(statement.description == "PRAGMA user_version = 6; SELECT next_users")
    }
}
