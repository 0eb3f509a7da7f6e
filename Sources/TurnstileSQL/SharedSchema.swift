/// The tables, indexes and changes both databases make alike, written once. Each database's migrations list them
/// where its history has them, beside what only it does (SQLite's rebuilds and triggers, PostgreSQL's trigger
/// function, each one's way of making the identity).
///
/// Integers are `INTEGER` in SQLite (where `id INTEGER PRIMARY KEY` is the row's own key) and `BIGINT` in
/// PostgreSQL; SQLite keeps tables keyed by something else than an integer id `WITHOUT ROWID`. The `CHECK`
/// constraints are the second line of defence behind the allocator: even a bug above could never store an oversold
/// event.
///
/// Every statement here is part of a released migration: never edit one (a database that ran it would differ from
/// one that runs the edit); add a new statement for a new migration.
public enum SharedSchema {
    /// What differs between the two databases' words for the same schema.
    public struct Dialect: Sendable {
        let integer: SQLStatement
        /// Ends a table keyed by something else than an integer id.
        let keyedTable: SQLStatement

        public static let sqlite = Dialect(integer: "INTEGER", keyedTable: " WITHOUT ROWID")
        public static let postgres = Dialect(integer: "BIGINT", keyedTable: "")
    }

    public static func users(_ dialect: Dialect) -> SQLStatement {
        let integer = dialect.integer
        return """
            CREATE TABLE users (
                id \(integer) PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                username TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at_ms \(integer) NOT NULL
            )
            """
    }

    /// Events as first made; ``perUserLimit(_:)`` adds their per-person limit.
    public static func events(_ dialect: Dialect) -> SQLStatement {
        let integer = dialect.integer
        return """
            CREATE TABLE events (
                id \(integer) PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT,
                date_ms \(integer) NOT NULL,
                location TEXT,
                seat_count \(integer) NOT NULL CHECK (seat_count > 0),
                available_seats \(integer) NOT NULL CHECK (available_seats >= 0) CHECK (available_seats <= seat_count),
                organizer_id \(integer) NOT NULL REFERENCES users (id),
                created_at_ms \(integer) NOT NULL
            )
            """
    }

    /// Bookings with holds (`held` until `expires_at_ms`, then `expired`), under `name` (SQLite builds the table
    /// under another name, then renames it).
    public static func bookings(_ dialect: Dialect, named name: String = "bookings") -> SQLStatement {
        let integer = dialect.integer
        return """
            CREATE TABLE \(identifier: name) (
                id \(integer) PRIMARY KEY,
                user_id \(integer) NOT NULL REFERENCES users (id),
                event_id \(integer) NOT NULL REFERENCES events (id),
                seat_count \(integer) NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired')),
                expires_at_ms \(integer) CHECK (status <> 'held' OR expires_at_ms IS NOT NULL),
                created_at_ms \(integer) NOT NULL
            )
            """
    }

    public static let bookingIndexes: [SQLStatement] = [
        "CREATE INDEX bookings_by_user ON bookings (user_id, id)",
        "CREATE INDEX bookings_by_event ON bookings (event_id, status)",
        "CREATE INDEX bookings_held ON bookings (expires_at_ms) WHERE status = 'held'",
    ]

    /// Idempotency keys, each remembering the grant it made, of any kind of resource.
    public static func claimKeys(_ dialect: Dialect) -> SQLStatement {
        let integer = dialect.integer
        return """
            CREATE TABLE claim_keys (
                user_id \(integer) NOT NULL REFERENCES users (id),
                key TEXT NOT NULL,
                resource_kind TEXT NOT NULL CHECK (resource_kind IN ('seats', 'stock', 'credits')),
                resource_id \(integer) NOT NULL,
                amount \(integer) NOT NULL CHECK (amount > 0),
                grant_id \(integer) NOT NULL,
                PRIMARY KEY (user_id, key)
            )\(dialect.keyedTable)
            """
    }

    public static func waitlist(_ dialect: Dialect) -> [SQLStatement] {
        let integer = dialect.integer
        return [
            """
            CREATE TABLE waitlist (
                id \(integer) PRIMARY KEY,
                event_id \(integer) NOT NULL REFERENCES events (id),
                user_id \(integer) NOT NULL REFERENCES users (id),
                seat_count \(integer) NOT NULL CHECK (seat_count > 0),
                status TEXT NOT NULL CHECK (status IN ('waiting', 'offered')),
                position \(integer) NOT NULL CHECK (position > 0),
                offered_booking_id \(integer) REFERENCES bookings (id)
                    CHECK ((status = 'offered') = (offered_booking_id IS NOT NULL)),
                created_at_ms \(integer) NOT NULL
            )
            """,
            "CREATE INDEX waitlist_waiting ON waitlist (event_id, id) WHERE status = 'waiting'",
        ]
    }

    /// Products and their orders.
    public static func stock(_ dialect: Dialect) -> [SQLStatement] {
        let integer = dialect.integer
        return [
            """
            CREATE TABLE products (
                id \(integer) PRIMARY KEY,
                sku TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                price_cents \(integer) NOT NULL CHECK (price_cents >= 0),
                stock_total \(integer) NOT NULL CHECK (stock_total > 0),
                stock \(integer) NOT NULL CHECK (stock >= 0) CHECK (stock <= stock_total),
                created_at_ms \(integer) NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                id \(integer) PRIMARY KEY,
                user_id \(integer) NOT NULL REFERENCES users (id),
                product_id \(integer) NOT NULL REFERENCES products (id),
                quantity \(integer) NOT NULL CHECK (quantity > 0),
                total_cents \(integer) NOT NULL CHECK (total_cents >= 0),
                status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
                created_at_ms \(integer) NOT NULL
            )
            """,
            "CREATE INDEX orders_by_user ON orders (user_id, id)",
        ]
    }

    /// Credit balances and their ledger.
    public static func credits(_ dialect: Dialect) -> [SQLStatement] {
        let integer = dialect.integer
        return [
            """
            CREATE TABLE credit_accounts (
                user_id \(integer) PRIMARY KEY REFERENCES users (id),
                total \(integer) NOT NULL CHECK (total >= 0),
                balance \(integer) NOT NULL CHECK (balance >= 0) CHECK (balance <= total)
            )
            """,
            """
            CREATE TABLE ledger (
                id \(integer) PRIMARY KEY,
                user_id \(integer) NOT NULL REFERENCES users (id),
                kind TEXT NOT NULL CHECK (kind IN ('topup', 'deduct')),
                amount \(integer) NOT NULL CHECK ((kind = 'topup') = (amount > 0)) CHECK (amount <> 0),
                balance_after \(integer) NOT NULL CHECK (balance_after >= 0),
                reason TEXT,
                created_at_ms \(integer) NOT NULL
            )
            """,
            "CREATE INDEX ledger_by_user ON ledger (user_id, id)",
        ]
    }

    /// Auction items and their bids (each database adds its own trigger behind the auction rule).
    public static func auctions(_ dialect: Dialect) -> [SQLStatement] {
        let integer = dialect.integer
        return [
            """
            CREATE TABLE items (
                id \(integer) PRIMARY KEY,
                seller_id \(integer) NOT NULL REFERENCES users (id),
                title TEXT NOT NULL,
                starting_price_cents \(integer) NOT NULL CHECK (starting_price_cents > 0),
                min_increment_cents \(integer) NOT NULL CHECK (min_increment_cents > 0),
                ends_at_ms \(integer),
                current_bid_cents \(integer),
                highest_bidder_id \(integer) REFERENCES users (id),
                bid_count \(integer) NOT NULL CHECK (bid_count >= 0),
                created_at_ms \(integer) NOT NULL
            )
            """,
            """
            CREATE TABLE bids (
                item_id \(integer) NOT NULL REFERENCES items (id),
                seq \(integer) NOT NULL CHECK (seq > 0),
                bidder_id \(integer) NOT NULL REFERENCES users (id),
                amount_cents \(integer) NOT NULL CHECK (amount_cents > 0),
                created_at_ms \(integer) NOT NULL,
                PRIMARY KEY (item_id, seq)
            )\(dialect.keyedTable)
            """,
        ]
    }

    /// Each event's per-person limit on seats held, booked and waited for (issue 13); events made before it get the
    /// service's default.
    public static func perUserLimit(_ dialect: Dialect) -> SQLStatement {
        """
        ALTER TABLE events ADD COLUMN max_seats_per_user \(dialect.integer) NOT NULL DEFAULT 10
            CHECK (max_seats_per_user > 0)
        """
    }

    /// What each idempotency key made: a grant (`grant_id` is its booking, order or ledger entry) or, for a booking
    /// refused on a sold-out event, a place on its waitlist (`grant_id` is the waitlist entry), which a retry under
    /// the key answers again instead of joining twice.
    public static let claimKeyOutcomes: SQLStatement = """
        ALTER TABLE claim_keys ADD COLUMN outcome TEXT NOT NULL DEFAULT 'granted'
            CHECK (outcome IN ('granted', 'waitlisted'))
        """

    /// The per-person limit's reads (a batch's users' live seats on its events), from the index alone.
    public static let bookingsByUserEvent: SQLStatement =
        "CREATE INDEX bookings_by_user_event ON bookings (user_id, event_id, status, seat_count)"
}
