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
        [
            // Idempotency keys now remember grants of every kind of resource (a booking, an order, a deduction).
            """
            CREATE TABLE claim_keys (
                user_id INTEGER NOT NULL REFERENCES users (id),
                key TEXT NOT NULL,
                resource_kind TEXT NOT NULL CHECK (resource_kind IN ('seats', 'stock', 'credits')),
                resource_id INTEGER NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                grant_id INTEGER NOT NULL,
                PRIMARY KEY (user_id, key)
            ) WITHOUT ROWID
            """,
            """
            INSERT INTO claim_keys (user_id, key, resource_kind, resource_id, amount, grant_id)
            SELECT k.user_id, k.key, 'seats', b.event_id, b.seat_count, b.id
            FROM idempotency_keys k JOIN bookings b ON b.id = k.booking_id
            """,
            "DROP TABLE idempotency_keys",
            // Bookings gain holds (`held` until `expires_at_ms`, then `expired`); SQLite changes a CHECK only by
            // rebuilding the table.
            """
            CREATE TABLE bookings_v3 (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                event_id INTEGER NOT NULL REFERENCES events (id),
                seat_count INTEGER NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired')),
                expires_at_ms INTEGER CHECK (status <> 'held' OR expires_at_ms IS NOT NULL),
                created_at_ms INTEGER NOT NULL
            )
            """,
            """
            INSERT INTO bookings_v3 (id, user_id, event_id, seat_count, status, expires_at_ms, created_at_ms)
            SELECT id, user_id, event_id, seat_count, status, NULL, created_at_ms FROM bookings
            """,
            "DROP TABLE bookings",
            "ALTER TABLE bookings_v3 RENAME TO bookings",
            "CREATE INDEX bookings_by_user ON bookings (user_id, id)",
            "CREATE INDEX bookings_by_event ON bookings (event_id, status)",
            "CREATE INDEX bookings_held ON bookings (expires_at_ms) WHERE status = 'held'",
            """
            CREATE TABLE waitlist (
                id INTEGER PRIMARY KEY,
                event_id INTEGER NOT NULL REFERENCES events (id),
                user_id INTEGER NOT NULL REFERENCES users (id),
                seat_count INTEGER NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('waiting', 'offered')),
                position INTEGER NOT NULL CHECK (position > 0),
                offered_booking_id INTEGER REFERENCES bookings (id)
                    CHECK ((status = 'offered') = (offered_booking_id IS NOT NULL)),
                created_at_ms INTEGER NOT NULL
            )
            """,
            "CREATE INDEX waitlist_waiting ON waitlist (event_id, id) WHERE status = 'waiting'",
            """
            CREATE TABLE products (
                id INTEGER PRIMARY KEY,
                sku TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
                stock_total INTEGER NOT NULL CHECK (stock_total > 0),
                stock INTEGER NOT NULL CHECK (stock >= 0) CHECK (stock <= stock_total),
                created_at_ms INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                product_id INTEGER NOT NULL REFERENCES products (id),
                quantity INTEGER NOT NULL CHECK (quantity > 0),
                total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
                status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
                created_at_ms INTEGER NOT NULL
            )
            """,
            "CREATE INDEX orders_by_user ON orders (user_id, id)",
            """
            CREATE TABLE credit_accounts (
                user_id INTEGER PRIMARY KEY REFERENCES users (id),
                total INTEGER NOT NULL CHECK (total >= 0),
                balance INTEGER NOT NULL CHECK (balance >= 0) CHECK (balance <= total)
            )
            """,
            """
            CREATE TABLE ledger (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL REFERENCES users (id),
                kind TEXT NOT NULL CHECK (kind IN ('topup', 'deduct')),
                amount INTEGER NOT NULL CHECK ((kind = 'topup') = (amount > 0)) CHECK (amount <> 0),
                balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
                reason TEXT,
                created_at_ms INTEGER NOT NULL
            )
            """,
            "CREATE INDEX ledger_by_user ON ledger (user_id, id)",
            """
            CREATE TABLE items (
                id INTEGER PRIMARY KEY,
                seller_id INTEGER NOT NULL REFERENCES users (id),
                title TEXT NOT NULL,
                starting_price_cents INTEGER NOT NULL CHECK (starting_price_cents > 0),
                min_increment_cents INTEGER NOT NULL CHECK (min_increment_cents > 0),
                ends_at_ms INTEGER,
                current_bid_cents INTEGER,
                highest_bidder_id INTEGER REFERENCES users (id),
                bid_count INTEGER NOT NULL CHECK (bid_count >= 0),
                created_at_ms INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE bids (
                item_id INTEGER NOT NULL REFERENCES items (id),
                seq INTEGER NOT NULL CHECK (seq > 0),
                bidder_id INTEGER NOT NULL REFERENCES users (id),
                amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
                created_at_ms INTEGER NOT NULL,
                PRIMARY KEY (item_id, seq)
            ) WITHOUT ROWID
            """,
            // The second line of defence behind the auction rule: an accepted bid always beats every earlier one.
            """
            CREATE TRIGGER bids_strictly_increase BEFORE INSERT ON bids
            WHEN NEW.amount_cents <= (SELECT MAX(amount_cents) FROM bids WHERE item_id = NEW.item_id)
            BEGIN SELECT RAISE(ABORT, 'an accepted bid must beat every earlier bid on its item'); END
            """,
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
        // 5: each event's per-person limit on seats held, booked and waited for (issue 13); events made before it
        // get the service's default.
        [
            """
            ALTER TABLE events ADD COLUMN max_seats_per_user INTEGER NOT NULL DEFAULT 10
                CHECK (max_seats_per_user > 0)
            """
        ],
        // 6: the per-person limit's reads (a batch's users' live seats on its events) went through
        // `bookings_by_event`, every live booking of a hot event per batch, growing with its sales. This index reads
        // only the batch's users' rows, from the index alone.
        ["CREATE INDEX bookings_by_user_event ON bookings (user_id, event_id, status, seat_count)"],
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
