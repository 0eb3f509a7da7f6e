import Foundation
import SQLiteNIO
import TurnstileCore

/// Decoding of the domain's values from rows, for the columns the store's queries select.
extension SQLiteRow {
    func int64(_ column: String) -> Int64 {
        guard let value = self.column(column)?.integer else {
            preconditionFailure("column \(column) missing or not an integer; the query and the decoder disagree")
        }
        return Int64(value)
    }

    func int(_ column: String) -> Int { Int(int64(column)) }

    func string(_ column: String) -> String {
        guard let value = self.column(column)?.string else {
            preconditionFailure("column \(column) missing or not text; the query and the decoder disagree")
        }
        return value
    }

    func optionalString(_ column: String) -> String? {
        guard let data = self.column(column), !data.isNull else { return nil }
        return data.string
    }

    func date(_ column: String) -> Date { Date(millisecondsSince1970: int64(column)) }

    func user() -> User {
        User(id: int64("id"), email: string("email"), username: string("username"), createdAt: date("created_at_ms"))
    }

    func event() -> Event {
        Event(
            id: int64("id"), title: string("title"), description: optionalString("description"),
            date: date("date_ms"), location: optionalString("location"), seatCount: int("seat_count"),
            availableSeats: int("available_seats"), organizerID: int64("organizer_id"),
            createdAt: date("created_at_ms"))
    }

    func booking() -> Booking {
        guard let status = Booking.Status(rawValue: string("status")) else {
            preconditionFailure("unknown booking status; the CHECK constraint allows only known ones")
        }
        return Booking(
            id: int64("id"), userID: int64("user_id"), eventID: int64("event_id"), seatCount: int("seat_count"),
            status: status, createdAt: date("created_at_ms"))
    }
}

extension SQLiteData {
    init(_ value: Int64) { self = .integer(SQLiteInt64(value)) }
    init(_ value: Int) { self = .integer(SQLiteInt64(value)) }
    init(_ value: Date) { self = .integer(SQLiteInt64(value.millisecondsSince1970)) }
    init(_ value: String?) { self = value.map { .text($0) } ?? .null }
}

extension Date {
    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1_000)
    }

    /// Milliseconds since 1970, clamped to what 64 bits hold (domain validation keeps dates far inside that).
    var millisecondsSince1970: Int64 {
        Int64(exactly: (timeIntervalSince1970 * 1_000).rounded()) ?? (timeIntervalSince1970 < 0 ? .min : .max)
    }
}

/// Columns selected for each domain value, so that queries and decoders stay in step.
enum Columns {
    static let user = "id, email, username, created_at_ms"
    static let event =
        "id, title, description, date_ms, location, seat_count, available_seats, organizer_id, created_at_ms"
    static let booking = "id, user_id, event_id, seat_count, status, created_at_ms"

    /// `(?, ?, …)` with `count` placeholders.
    static func placeholders(_ count: Int) -> String {
        "(" + Array(repeating: "?", count: count).joined(separator: ", ") + ")"
    }
}

extension SQLiteConnection {
    /// Runs a statement whose rows, if any, are not needed.
    func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        _ = try await query(sql, binds)
    }
}
