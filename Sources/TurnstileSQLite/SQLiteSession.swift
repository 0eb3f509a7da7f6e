import SQLiteNIO
import TurnstileSQL

/// SQLite as a ``SQLSession``: the shared statements' values become ``SQLiteData``, and rows are read through
/// ``SQLiteRow``. SQLite numbers `?` placeholders itself.
extension SQLiteConnection: SQLSession {
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [any SQLRow] {
        try await query(sql, binds.map(SQLiteData.init)).map(SQLiteRowView.init)
    }
}

extension SQLiteData {
    init(_ value: SQLValue) {
        switch value {
        case .integer(let integer): self = .integer(SQLiteInt64(integer))
        case .text(let text): self = .text(text)
        case .null: self = .null
        }
    }
}

/// A SQLite row, read as a ``SQLRow``. The schema holds integers, text and nulls only.
struct SQLiteRowView: SQLRow {
    let row: SQLiteRow

    func value(_ column: String) -> SQLValue? {
        switch row.column(column) {
        case nil: nil
        case .integer(let integer): .integer(Int64(integer))
        case .text(let text): .text(text)
        case .null: .null
        case .float, .blob: preconditionFailure("column \(column) holds a type this schema never stores")
        }
    }
}
