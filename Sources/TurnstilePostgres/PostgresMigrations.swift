import Logging
import PostgresNIO
import TurnstileSQL

/// The PostgreSQL schema: the SQLite schema's final shape (integer milliseconds in `…_ms` columns, the same `CHECK`
/// constraints as a second line of defence, the same bids trigger), with every integer a `BIGINT`. Migration `n`
/// (from 1) is recorded in `turnstile_migrations`; one once released is never edited, only followed by a new one.
enum PostgresMigrations {
    static let all: [[SQLStatement]] = [
        [
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            // The database's identity: access tokens name it (see `TurnstileStore.identity`).
            "INSERT INTO meta (key, value) VALUES ('identity', md5(random()::text || clock_timestamp()::text))",
            """
            CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                username TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE events (
                id BIGINT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT,
                date_ms BIGINT NOT NULL,
                location TEXT,
                seat_count BIGINT NOT NULL CHECK (seat_count > 0),
                available_seats BIGINT NOT NULL CHECK (available_seats >= 0) CHECK (available_seats <= seat_count),
                organizer_id BIGINT NOT NULL REFERENCES users (id),
                created_at_ms BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE bookings (
                id BIGINT PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users (id),
                event_id BIGINT NOT NULL REFERENCES events (id),
                seat_count BIGINT NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired')),
                expires_at_ms BIGINT CHECK (status <> 'held' OR expires_at_ms IS NOT NULL),
                created_at_ms BIGINT NOT NULL
            )
            """,
            "CREATE INDEX bookings_by_user ON bookings (user_id, id)",
            "CREATE INDEX bookings_by_event ON bookings (event_id, status)",
            "CREATE INDEX bookings_held ON bookings (expires_at_ms) WHERE status = 'held'",
            """
            CREATE TABLE claim_keys (
                user_id BIGINT NOT NULL REFERENCES users (id),
                key TEXT NOT NULL,
                resource_kind TEXT NOT NULL CHECK (resource_kind IN ('seats', 'stock', 'credits')),
                resource_id BIGINT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                grant_id BIGINT NOT NULL,
                PRIMARY KEY (user_id, key)
            )
            """,
            """
            CREATE TABLE waitlist (
                id BIGINT PRIMARY KEY,
                event_id BIGINT NOT NULL REFERENCES events (id),
                user_id BIGINT NOT NULL REFERENCES users (id),
                seat_count BIGINT NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('waiting', 'offered')),
                position BIGINT NOT NULL CHECK (position > 0),
                offered_booking_id BIGINT REFERENCES bookings (id)
                    CHECK ((status = 'offered') = (offered_booking_id IS NOT NULL)),
                created_at_ms BIGINT NOT NULL
            )
            """,
            "CREATE INDEX waitlist_waiting ON waitlist (event_id, id) WHERE status = 'waiting'",
            """
            CREATE TABLE products (
                id BIGINT PRIMARY KEY,
                sku TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
                stock_total BIGINT NOT NULL CHECK (stock_total > 0),
                stock BIGINT NOT NULL CHECK (stock >= 0) CHECK (stock <= stock_total),
                created_at_ms BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                id BIGINT PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users (id),
                product_id BIGINT NOT NULL REFERENCES products (id),
                quantity BIGINT NOT NULL CHECK (quantity > 0),
                total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
                status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
                created_at_ms BIGINT NOT NULL
            )
            """,
            "CREATE INDEX orders_by_user ON orders (user_id, id)",
            """
            CREATE TABLE credit_accounts (
                user_id BIGINT PRIMARY KEY REFERENCES users (id),
                total BIGINT NOT NULL CHECK (total >= 0),
                balance BIGINT NOT NULL CHECK (balance >= 0) CHECK (balance <= total)
            )
            """,
            """
            CREATE TABLE ledger (
                id BIGINT PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users (id),
                kind TEXT NOT NULL CHECK (kind IN ('topup', 'deduct')),
                amount BIGINT NOT NULL CHECK ((kind = 'topup') = (amount > 0)) CHECK (amount <> 0),
                balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
                reason TEXT,
                created_at_ms BIGINT NOT NULL
            )
            """,
            "CREATE INDEX ledger_by_user ON ledger (user_id, id)",
            """
            CREATE TABLE items (
                id BIGINT PRIMARY KEY,
                seller_id BIGINT NOT NULL REFERENCES users (id),
                title TEXT NOT NULL,
                starting_price_cents BIGINT NOT NULL CHECK (starting_price_cents > 0),
                min_increment_cents BIGINT NOT NULL CHECK (min_increment_cents > 0),
                ends_at_ms BIGINT,
                current_bid_cents BIGINT,
                highest_bidder_id BIGINT REFERENCES users (id),
                bid_count BIGINT NOT NULL CHECK (bid_count >= 0),
                created_at_ms BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE bids (
                item_id BIGINT NOT NULL REFERENCES items (id),
                seq BIGINT NOT NULL CHECK (seq > 0),
                bidder_id BIGINT NOT NULL REFERENCES users (id),
                amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
                created_at_ms BIGINT NOT NULL,
                PRIMARY KEY (item_id, seq)
            )
            """,
            // The second line of defence behind the auction rule, as in SQLite's schema v4: the item's latest bid
            // is its highest (every earlier one passed this same rule), so two index lookups check it.
            """
            CREATE FUNCTION bids_strictly_increase() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.seq <= (SELECT MAX(seq) FROM bids WHERE item_id = NEW.item_id)
                    OR NEW.amount_cents <= (
                        SELECT amount_cents FROM bids WHERE item_id = NEW.item_id ORDER BY seq DESC LIMIT 1)
                THEN
                    RAISE EXCEPTION 'an accepted bid must come after and beat every earlier bid on its item';
                END IF;
                RETURN NEW;
            END
            $$
            """,
            """
            CREATE TRIGGER bids_strictly_increase BEFORE INSERT ON bids
            FOR EACH ROW EXECUTE FUNCTION bids_strictly_increase()
            """,
        ],
        // 5: each event's per-person limit on seats held, booked and waited for, as in SQLite's schema v5.
        [
            """
            ALTER TABLE events ADD COLUMN max_seats_per_user BIGINT NOT NULL DEFAULT 10
                CHECK (max_seats_per_user > 0)
            """
        ],
        // 6: the per-person limit's reads by user and event, as in SQLite's schema v6.
        ["CREATE INDEX bookings_by_user_event ON bookings (user_id, event_id, status, seat_count)"],
    ]

    /// A lock number only Turnstile's migrations take, so instances starting together migrate one at a time.
    static let lock: Int64 = 7_031_001

    /// Brings the database up to the newest schema, in one transaction (PostgreSQL's DDL is transactional) under
    /// an advisory lock, so instances starting together migrate one at a time and never half-way.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.execute("SELECT pg_advisory_xact_lock(\(lock))")
            try await session.execute("CREATE TABLE IF NOT EXISTS turnstile_migrations (version BIGINT PRIMARY KEY)")
            let found =
                try await session.query("SELECT COALESCE(MAX(version), 0) AS version FROM turnstile_migrations")
                .first?.int("version") ?? 0
            guard found <= all.count else { throw PostgresStoreError.newerSchema(found: found, known: all.count) }
            for (index, statements) in all.enumerated().dropFirst(found) {
                for statement in statements { try await session.execute(statement) }
                try await session.execute("INSERT INTO turnstile_migrations (version) VALUES (\(index + 1))")
            }
        }
    }
}

/// Why a PostgreSQL database could not be opened for service.
enum PostgresStoreError: Error, CustomStringConvertible {
    case newerSchema(found: Int, known: Int)
    case badURL(String, reason: String)
    case noIdentity

    var description: String {
        switch self {
        case .newerSchema(let found, let known):
            "the database has schema version \(found), but this Turnstile knows only up to \(known): "
                + "use a newer Turnstile"
        case .badURL(let url, let reason): "\(url) is not a PostgreSQL URL: \(reason)"
        case .noIdentity: "the database has Turnstile's tables but no identity in meta: it was not made by Turnstile"
        }
    }
}
