import SQLiteNIO
import TurnstileCore

/// The schema, as an ordered list of migrations. Migration `n` (from 1) brings `PRAGMA user_version` from `n - 1`
/// to `n`; a migration once released is never edited, only followed by a new one.
///
/// Times are stored as integer milliseconds since 1970 (`…_ms` columns). The `CHECK` constraints are the second line
/// of defence behind the allocator: even a bug above could never store an oversold event.
enum SQLiteMigrations {
    static let all: [[String]] = [
        [
            """
            CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                username TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at_ms INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT,
                date_ms INTEGER NOT NULL,
                location TEXT,
                seat_count INTEGER NOT NULL CHECK (seat_count > 0),
                available_seats INTEGER NOT NULL
                    CHECK (available_seats >= 0)
                    CHECK (available_seats <= seat_count),
                organizer_id INTEGER NOT NULL REFERENCES users (id),
                created_at_ms INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE bookings (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                event_id INTEGER NOT NULL REFERENCES events (id),
                seat_count INTEGER NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
                created_at_ms INTEGER NOT NULL
            )
            """,
            "CREATE INDEX bookings_by_user ON bookings (user_id, id)",
            "CREATE INDEX bookings_by_event ON bookings (event_id, status)",
            """
            CREATE TABLE idempotency_keys (
                user_id INTEGER NOT NULL REFERENCES users (id),
                key TEXT NOT NULL,
                booking_id INTEGER NOT NULL REFERENCES bookings (id),
                PRIMARY KEY (user_id, key)
            ) WITHOUT ROWID
            """,
        ],
        [
            // The database's identity: access tokens name it (see `TurnstileStore.identity`).
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
            "INSERT INTO meta (key, value) VALUES ('identity', lower(hex(randomblob(16))))",
        ],
    ]

    /// Brings the database up to the newest schema, one transaction per migration.
    static func migrate(_ connection: SQLiteConnection) async throws {
        let rows = try await connection.query("PRAGMA user_version")
        let version = rows.first?.column("user_version")?.integer ?? 0
        guard version <= all.count else {
            throw SQLiteStoreError.newerSchema(found: version, known: all.count)
        }
        for (index, statements) in all.enumerated().dropFirst(version) {
            try await connection.execute("BEGIN IMMEDIATE")
            do {
                for statement in statements { try await connection.execute(statement) }
                try await connection.execute("PRAGMA user_version = \(index + 1)")
                try await connection.execute("COMMIT")
            } catch {
                try? await connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// Why a database file could not be opened for service.
enum SQLiteStoreError: Error, CustomStringConvertible {
    case newerSchema(found: Int, known: Int)
    case notWAL(journalMode: String, path: String)

    var description: String {
        switch self {
        case .notWAL(let journalMode, let path):
            "\(path) stays in journal mode '\(journalMode)', but Turnstile needs WAL: is it on a network file system?"
        case .newerSchema(let found, let known):
            "the database has schema version \(found), but this Turnstile knows only up to \(known): "
                + "use a newer Turnstile"
        }
    }
}
