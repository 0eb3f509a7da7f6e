import Logging
import PostgresNIO
import TurnstileSQL

/// PostgreSQL as a ``SQLSession``: each statement becomes a `PostgresQuery` through PostgresNIO's own interpolation
/// (its values bound as `$1`, `$2`, …), and every row is read into a dictionary of ``SQLValue``s.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    let rowLock: SQLStatement = " FOR UPDATE"

    func query(_ statement: SQLStatement) async throws -> [any SQLRow] {
        try await Self.rows(of: connection.query(PostgresQuery(statement), logger: logger))
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

extension PostgresQuery {
    /// The statement, its text and values appended in order as PostgresNIO's interpolation appends them.
    init(_ statement: SQLStatement) {
        var query = StringInterpolation(literalCapacity: 0, interpolationCount: statement.parts.count)
        for part in statement.parts {
            switch part {
            case .sql(let sql): query.appendLiteral(sql)
            case .value(.integer(let integer)): query.appendInterpolation(integer)
            case .value(.text(let text)): query.appendInterpolation(text)
            case .value(.null): query.appendInterpolation(Int64?.none)
            }
        }
        self.init(stringInterpolation: query)
    }
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
