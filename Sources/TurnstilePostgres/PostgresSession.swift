import Logging
import PostgresNIO
import TurnstileSQL

/// PostgreSQL as a ``SQLSession``: the shared statements' `?` placeholders become `$1`, `$2`, …, their values
/// PostgreSQL binds, and every row is read into a dictionary of ``SQLValue``s.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    let rowLock = " FOR UPDATE"

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [any SQLRow] {
        try await Self.rows(of: connection.query(Self.query(sql, binds), logger: logger))
    }

    /// The statement with numbered placeholders and its bindings. The shared statements hold no `?` inside
    /// literals, so every `?` is a placeholder.
    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var numbered = ""
        numbered.reserveCapacity(sql.utf8.count + binds.count * 2)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                numbered += "$\(index)"
            } else {
                numbered.append(character)
            }
        }
        precondition(index == binds.count, "\(index) placeholders for \(binds.count) values")
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .integer(let integer): bindings.append(integer)
            case .text(let text): bindings.append(text)
            case .null: bindings.appendNull()
            }
        }
        return PostgresQuery(unsafeSQL: numbered, binds: bindings)
    }

    static func rows(of sequence: PostgresRowSequence) async throws -> [any SQLRow] {
        var rows: [any SQLRow] = []
        for try await row in sequence { rows.append(try PostgresRowValues(row)) }
        return rows
    }
}

/// A PostgreSQL row, read once into ``SQLValue``s. The schema keeps integers as `BIGINT` and words as `TEXT`;
/// `COUNT` is `bigint`, every `SUM` is cast to `BIGINT`, and a function returning `void` (an advisory lock) reads
/// as null, so nothing else arrives.
struct PostgresRowValues: SQLRow {
    private let values: [String: SQLValue]

    init(_ row: PostgresRow) throws {
        var values: [String: SQLValue] = [:]
        for cell in row {
            guard cell.bytes != nil, cell.dataType != .void else {
                values[cell.columnName] = .null
                continue
            }
            switch cell.dataType {
            case .int2, .int4, .int8: values[cell.columnName] = .integer(try cell.decode(Int64.self))
            case .text, .varchar, .name, .bpchar: values[cell.columnName] = .text(try cell.decode(String.self))
            default: throw UnexpectedColumnType(column: cell.columnName, type: cell.dataType)
            }
        }
        self.values = values
    }

    func value(_ column: String) -> SQLValue? { values[column] }
}

struct UnexpectedColumnType: Error, CustomStringConvertible {
    let column: String
    let type: PostgresDataType

    var description: String { "column \(column) arrived as \(type), which the shared statements never select" }
}

/// What may be logged of a database error: PostgreSQL's error code, SQLSTATE and message, never the statement or its
/// values (a password hash, say), which `String(reflecting:)` of PostgresNIO's errors would include.
func loggable(_ error: any Error) -> String {
    switch error {
    case let error as PSQLError:
        let state = error.serverInfo?[.sqlState].map { " SQLSTATE \($0)" } ?? ""
        let message = error.serverInfo?[.message].map { ": \($0)" } ?? ""
        return "PostgreSQL \(error.code)\(state)\(message)"
    case let error as PostgresTransactionError:
        let parts = [
            ("begin", error.beginError), ("in the transaction", error.closureError),
            ("commit", error.commitError), ("rollback", error.rollbackError),
        ]
        return parts.compactMap { step, error in error.map { "\(step): \(loggable($0))" } }.joined(separator: "; ")
    default:
        return "\(error)"
    }
}
