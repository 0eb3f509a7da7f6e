import Foundation
import TurnstileCore

/// A row's columns as the values the domain keeps (integers, text, dates, known words); whole domain values are read
/// by their ``Table``'s `read`.
extension SQLRow {
    public func int64(_ column: String) -> Int64 {
        guard case .integer(let value) = self.value(column) else {
            preconditionFailure("column \(column) missing or not an integer; the query and the decoder disagree")
        }
        return value
    }

    public func int(_ column: String) -> Int { Int(int64(column)) }

    public func string(_ column: String) -> String {
        guard case .text(let value) = self.value(column) else {
            preconditionFailure("column \(column) missing or not text; the query and the decoder disagree")
        }
        return value
    }

    public func optionalString(_ column: String) -> String? {
        self.value(column) == .null ? nil : string(column)
    }

    func date(_ column: String) -> Date { Date(millisecondsSince1970: int64(column)) }

    public func optionalInt64(_ column: String) -> Int64? {
        self.value(column) == .null ? nil : int64(column)
    }

    func optionalDate(_ column: String) -> Date? { optionalInt64(column).map(Date.init(millisecondsSince1970:)) }

    /// A stored word of a known set; the CHECK constraints allow no other.
    func word<Word: RawRepresentable<String>>(_ column: String, as type: Word.Type = Word.self) -> Word {
        guard let word = Word(rawValue: string(column)) else {
            preconditionFailure("unknown \(column); the CHECK constraint allows only known ones")
        }
        return word
    }

}
