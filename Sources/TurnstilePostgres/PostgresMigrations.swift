import Logging
import PostgresNIO
import TurnstileSQL

/// The PostgreSQL schema: the SQLite schema's final shape, from the same ``SharedSchema`` (integer milliseconds in
/// `…_ms` columns, the same `CHECK` constraints as a second line of defence), every integer a `BIGINT`, and the same
/// bids rule as a trigger function. Migration `n`
/// (from 1) is recorded in `turnstile_migrations`; one once released is never edited, only followed by a new one.
enum PostgresMigrations {
    static let all: [[SQLStatement]] = [
        [
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            // The database's identity: access tokens name it (see `TurnstileStore.identity`).
            "INSERT INTO meta (key, value) VALUES ('identity', md5(random()::text || clock_timestamp()::text))",
            SharedSchema.users(.postgres),
            SharedSchema.events(.postgres),
            SharedSchema.bookings(.postgres),
        ] + SharedSchema.bookingIndexes + [SharedSchema.claimKeys(.postgres)] + SharedSchema.waitlist(.postgres)
            + SharedSchema.stock(.postgres) + SharedSchema.credits(.postgres) + SharedSchema.auctions(.postgres) + [
                // The second line of defence behind the auction rule, as in SQLite's schema v4: the item's latest
                // bid is its highest (every earlier one passed this same rule), so two index lookups check it.
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
        [SharedSchema.perUserLimit(.postgres)],
        // 6: the per-person limit's reads by user and event, as in SQLite's schema v6.
        [SharedSchema.bookingsByUserEvent],
        // 7: idempotency keys remember waitlist joins too, as in SQLite's schema v7.
        [SharedSchema.claimKeyOutcomes],
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
