import SQLiteNIO

/// What the SQLite file says about one event, read on a connection of the test's own, apart from the server's.
struct EventBooks: Equatable {
    let seatCount: Int
    let availableSeats: Int
    let confirmedBookings: Int
    let confirmedSeats: Int

    static func read(databasePath: String, eventID: Int) async throws -> EventBooks {
        let connection = try await SQLiteConnection.open(storage: .file(path: databasePath))
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            """
            SELECT e.seat_count, e.available_seats,
                (SELECT COUNT(*) FROM bookings b WHERE b.event_id = e.id AND b.status = 'confirmed') AS bookings,
                (SELECT COALESCE(SUM(seat_count), 0) FROM bookings b WHERE b.event_id = e.id AND b.status = 'confirmed')
                    AS seats
            FROM events e WHERE e.id = ?
            """, [.integer(eventID)])
        let row = rows[0]
        return EventBooks(
            seatCount: row.column("seat_count")!.integer!, availableSeats: row.column("available_seats")!.integer!,
            confirmedBookings: row.column("bookings")!.integer!, confirmedSeats: row.column("seats")!.integer!)
    }
}

/// The ids of an event's confirmed bookings, read from the SQLite file.
enum BookingIDs {
    static func read(databasePath: String, eventID: Int) async throws -> Set<Int> {
        let connection = try await SQLiteConnection.open(storage: .file(path: databasePath))
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            "SELECT id FROM bookings WHERE event_id = ? AND status = 'confirmed'", [.integer(eventID)])
        return Set(rows.compactMap { $0.column("id")?.integer })
    }
}
