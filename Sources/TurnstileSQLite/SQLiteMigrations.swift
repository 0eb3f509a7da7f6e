import TurnstileCore
import TurnstileSQL

/// The schema, as an ordered list of migrations. Migration `n` (from 1) brings `PRAGMA user_version` from `n - 1`
/// to `n`; a migration once released is never edited, only followed by a new one.
///
/// Times are stored as integer milliseconds since 1970 (`…_ms` columns). The `CHECK` constraints are the second line
/// of defence behind the allocator: even a bug above could never store an oversold event.
enum SQLiteMigrations {
    static let all: [[SQLStatement]] = [
        [
            SharedSchema.users(.sqlite),
            SharedSchema.events(.sqlite),
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
        [
            // Idempotency keys now remember grants of every kind of resource (a booking, an order, a deduction).
            SharedSchema.claimKeys(.sqlite),
            """
            INSERT INTO claim_keys (user_id, key, resource_kind, resource_id, amount, grant_id)
            SELECT k.user_id, k.key, 'seats', b.event_id, b.seat_count, b.id
            FROM idempotency_keys k JOIN bookings b ON b.id = k.booking_id
            """,
            "DROP TABLE idempotency_keys",
            // Bookings gain holds (`held` until `expires_at_ms`, then `expired`); SQLite changes a CHECK only by
            // rebuilding the table.
            SharedSchema.bookings(.sqlite, named: "bookings_v3"),
            """
            INSERT INTO bookings_v3 (id, user_id, event_id, seat_count, status, expires_at_ms, created_at_ms)
            SELECT id, user_id, event_id, seat_count, status, NULL, created_at_ms FROM bookings
            """,
            "DROP TABLE bookings",
            "ALTER TABLE bookings_v3 RENAME TO bookings",
        ] + SharedSchema.bookingIndexes + SharedSchema.waitlist(.sqlite) + SharedSchema.stock(.sqlite)
            + SharedSchema.credits(.sqlite) + SharedSchema.auctions(.sqlite) + [
                // The second line of defence behind the auction rule: an accepted bid always beats every earlier one.
                """
                CREATE TRIGGER bids_strictly_increase BEFORE INSERT ON bids
                WHEN NEW.amount_cents <= (SELECT MAX(amount_cents) FROM bids WHERE item_id = NEW.item_id)
                BEGIN SELECT RAISE(ABORT, 'an accepted bid must beat every earlier bid on its item'); END
                """
            ],
        // 4: the bids trigger compared each new bid with MAX(amount_cents) over all its item's bids, a scan per bid
        // (quadratic over an auction). Every bid before it passed the same rule, so the item's latest bid (by seq) is
        // its highest: comparing with that one, and requiring a later seq, is the same rule in two index lookups.
        [
            "DROP TRIGGER bids_strictly_increase",
            """
            CREATE TRIGGER bids_strictly_increase BEFORE INSERT ON bids
            WHEN NEW.seq <= (SELECT MAX(seq) FROM bids WHERE item_id = NEW.item_id)
                OR NEW.amount_cents <= (
                    SELECT amount_cents FROM bids WHERE item_id = NEW.item_id ORDER BY seq DESC LIMIT 1)
            BEGIN SELECT RAISE(ABORT, 'an accepted bid must come after and beat every earlier bid on its item'); END
            """,
        ],
        // 5: each event's per-person limit on seats held, booked and waited for (issue 13).
        [SharedSchema.perUserLimit(.sqlite)],
        // 6: the per-person limit's reads (a batch's users' live seats on its events) went through
        // `bookings_by_event`, every live booking of a hot event per batch, growing with its sales. This index reads
        // only the batch's users' rows, from the index alone.
        [SharedSchema.bookingsByUserEvent],
        // 7: a waitlist join under an idempotency key is remembered like a grant, so its retry is not a second join.
        [SharedSchema.claimKeyOutcomes],
    ]

    /// Brings the database up to the newest schema, one transaction per migration. On the connection's thread.
    static func migrate(_ connection: SQLiteDatabase) throws {
        let version = Int(try connection.rows("PRAGMA user_version").first?.int64("user_version") ?? 0)
        guard version <= all.count else {
            throw SQLiteStoreError.newerSchema(found: version, known: all.count)
        }
        for (index, statements) in all.enumerated().dropFirst(version) {
            try connection.exec("BEGIN IMMEDIATE")
            do {
                for statement in statements { try connection.exec(statement) }
                try connection.exec("PRAGMA user_version = \(literal: index + 1)")
                try connection.exec("COMMIT")
            } catch {
                try? connection.exec("ROLLBACK")
                throw error
            }
        }
    }
}

/// Why a database file could not be opened for service.
public enum SQLiteStoreError: Error, CustomStringConvertible {
    case newerSchema(found: Int, known: Int)
    case notWAL(journalMode: String, path: String)
    /// Another process serves the file.
    case inUse(path: String)
    /// The file cannot be opened or created, e.g. its folder does not exist.
    case cannotOpen(path: String, reason: String)

    public var description: String {
        switch self {
        case .inUse(let path):
            "\(path) is in use by another process (a second `turnstile serve`?): one process serves an SQLite file; "
                + "for several instances use --database postgres://…"
        case .cannotOpen(let path, let reason):
            "cannot open \(path): \(reason)"
        case .notWAL(let journalMode, let path):
            "\(path) stays in journal mode '\(journalMode)', but Turnstile needs WAL: is it on a network file system?"
        case .newerSchema(let found, let known):
            "the database has schema version \(found), but this Turnstile knows only up to \(known): "
                + "use a newer Turnstile"
        }
    }
}
