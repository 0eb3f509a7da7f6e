/// Every bound Turnstile enforces, in one place.
///
/// A limit that is not written down here does not exist: queues, batches, bodies, pages and strings all have a
/// named maximum so that no input and no load can make the service grow without bound.
public enum Limits {
    // MARK: Events

    /// The most seats one event may have.
    public static let eventSeatCountMax = 100_000
    /// The longest event title, in characters.
    public static let eventTitleLengthMax = 200
    /// The longest event description, in characters.
    public static let eventDescriptionLengthMax = 5_000
    /// The longest event location, in characters.
    public static let eventLocationLengthMax = 200
    /// The range of event dates accepted, in seconds since 1970: from 1970-01-01 to the end of 9999-12-31 (its last
    /// second's fractions included; a leap second after it, 23:59:60, is 10000-01-01 and refused).
    public static let eventDateSecondsRange: Range<Double> = 0..<253_402_300_800

    // MARK: Bookings

    /// The most seats one booking may claim.
    public static let bookingSeatCountMax = 10
    /// The most seats one user may hold, have booked and wait for on one event, unless the event was created with
    /// `max_seats_per_user`: so that one account cannot corner an event with holds, bookings or waitlist places.
    public static let seatsPerUserPerEventDefault = 10
    /// The longest `Idempotency-Key` header value, in characters.
    public static let idempotencyKeyLengthMax = 128
    /// The most bookings `GET /api/v1/bookings/` returns for one user (newest first).
    public static let bookingsListedMax = 1_000

    /// The longest a booking may hold seats before it must be confirmed.
    public static let holdSecondsMax = 3_600
    /// How long seats offered to a waitlisted request are held for it.
    public static let waitlistOfferHoldSeconds = 600
    /// The most requests one event's waitlist holds.
    public static let waitlistLengthMax = 1_000
    /// How often the store looks for holds that ran out (claims on an event also release its own).
    public static let holdSweepIntervalMilliseconds = 1_000
    /// The most expired holds one sweep releases; the next sweep takes the rest.
    public static let holdSweepBookingsMax = 1_000

    // MARK: Stock and orders

    /// The longest SKU and product name, in characters.
    public static let skuLengthMax = 64
    public static let productNameLengthMax = 200
    /// The most units one product may be stocked with.
    public static let productStockMax = 1_000_000
    /// The most units one order may take.
    public static let orderQuantityMax = 1_000
    /// The highest price, in cents (of a product, a bid or an increment): ten billion dollars.
    public static let priceCentsMax = 1_000_000_000_000
    /// The most orders `GET /api/v1/orders/` returns for one user (newest first).
    public static let ordersListedMax = 1_000

    // MARK: Credits

    /// The most credits one top-up or deduction may move.
    public static let creditTopUpMax = 1_000_000_000
    /// The highest balance (and total ever topped up) an account may reach, far inside 64 bits.
    public static let creditBalanceMax = 1_000_000_000_000_000
    /// A balance at or below this is reported as `low_balance`.
    public static let creditLowBalanceThreshold = 10
    /// The longest deduction reason, in characters.
    public static let ledgerReasonLengthMax = 200
    /// The most ledger entries `GET /api/v1/credits/transactions` returns (newest first).
    public static let ledgerEntriesListedMax = 1_000

    // MARK: Auctions

    /// The longest item title, in characters.
    public static let itemTitleLengthMax = 200
    /// The most bids `GET /api/v1/items/{id}/bids` returns (the newest, in order).
    public static let bidsListedMax = 10_000

    // MARK: Live feeds

    /// The most bytes a live subscriber may fall behind (written by the feed, not yet taken by the network); one
    /// further behind is closed with 1008, so a slow reader can never make the server's memory grow.
    public static let liveBacklogBytesMax = 256 * 1024
    /// The largest WebSocket frame a live feed accepts from a client (it expects none but pings and closes).
    public static let liveFrameBytesMax = 4_096
    /// The most live subscribers one server keeps, across all feeds; one more is closed with 1013 (try again later).
    public static let liveSubscribersMax = 50_000
    /// How long a closing feed waits for the client's close frame before it drops the connection.
    public static let liveCloseTimeoutSeconds = 2
    /// How often a feed pings its subscriber; one that has sent nothing back (no pong, no frame at all) by the next
    /// ping is dropped, so a client that vanished without closing never holds a connection for long.
    public static let livePingIntervalSeconds = 30

    // MARK: Accounts

    /// The longest email address (RFC 5321's path limit), in characters.
    public static let emailLengthMax = 254
    /// The shortest and longest username, in characters.
    public static let usernameLengthMin = 3
    public static let usernameLengthMax = 50
    /// The shortest and longest password, in characters. The maximum keeps hashing cost bounded.
    public static let passwordLengthMin = 8
    public static let passwordLengthMax = 128
    /// Wrong passwords an account may take before its logins slow down: after each further one it refuses logins
    /// for twice as long as before (1 s, 2 s, 4 s, …).
    public static let loginFailuresFree = 5
    /// The longest an account's logins are refused after failures.
    public static let loginLockoutSecondsMax = 900
    /// The most accounts whose failed logins are tracked; the record is emptied when it fills.
    public static let loginFailuresTrackedMax = 100_000
    /// Password hashes waiting for a core; one more is answered 503 `overloaded` at once. As many as there are cores
    /// run at a time.
    public static let passwordHashesQueuedMax = 64
    /// How long an access token stays valid.
    public static let accessTokenLifetimeSeconds = 3_600
    /// How far a token's `iat`, `nbf` and `exp` may lie ahead of the service's clock, for clocks that disagree a
    /// little between instances; anything further is refused.
    public static let accessTokenClockSkewSeconds = 60
    /// How many verified access tokens are remembered, so that a client's repeated token is not re-verified on
    /// every request; the memory is emptied when it fills.
    public static let verifiedTokensRememberedMax = 20_000

    // MARK: Paging

    /// The page size used when a list request names none.
    public static let pageSizeDefault = 20
    /// The largest page a list request may ask for.
    public static let pageSizeMax = 100
    /// The highest page number a list request may ask for (keeps offsets inside 64 bits and queries cheap).
    public static let pageNumberMax = 1_000_000

    // MARK: HTTP

    /// The most connections the service holds at once unless `--max-connections` says otherwise; never more than
    /// the open-file limit less ``fileHandlesReserved``. At the cap it stops accepting until one closes.
    public static let connectionsMaxDefault = 16_384
    /// The most connections one client address holds unless `--max-connections-per-client` says otherwise; one more
    /// is closed at once. Behind a proxy every client shares the proxy's address: raise it there.
    public static let connectionsPerClientMaxDefault = 1_024
    /// Open files kept for the store, its files and the logs, never taken by connections.
    public static let fileHandlesReserved = 128

    /// The largest request body the service reads, in bytes; anything larger is answered 413.
    public static let requestBodyBytesMax = 64 * 1024
    /// How long a request body may take to arrive, from the moment the route starts reading it; past it, 408
    /// `request_timeout` and the connection closes. With at most ``requestBodyBytesMax`` bytes, this also sets the
    /// slowest rate accepted (about 13 KB/s for a full-size body), so a body trickled a byte at a time cannot pin a
    /// connection for long.
    public static let requestBodySecondsMax = 5
    /// How long a connection may sit idle (no request, or a request that stopped arriving) before it is closed, so
    /// that a stalled client can neither pin a connection nor hold up a graceful shutdown.
    public static let httpIdleTimeoutSeconds = 30
    /// How long a TLS connection may take to finish its handshake (and agree on HTTP/1.1 or HTTP/2); one that has
    /// not by then (a silent socket, half a ClientHello) is closed, so it cannot hold a connection slot.
    public static let tlsHandshakeSecondsMax = 10
    /// After an HTTP/2 connection is told to go away (GOAWAY: graceful shutdown, or idle past
    /// ``httpIdleTimeoutSeconds``), how long its open streams have to finish before it is closed regardless.
    public static let http2GracefulCloseSecondsMax = 5
    /// The most HTTP/2 streams of the whole server whose requests have not finished arriving (a stream waiting for
    /// its body holds memory until it ends): one more is reset at once. Per connection the bound is the 100 streams
    /// a connection may have open at once, all of which may wait: a single-packet race holds back every stream's end.
    /// As many as the largest race `turnstile stress` releases; about 200 MB of streams at the most.
    public static let http2UnfinishedStreamsMax = 10_000
    /// The most answer bytes one HTTP/2 connection may hold for a client that does not take them (a flow-control
    /// window it never opens, a socket it never reads) for more than a second, and all connections together at any
    /// moment: past either, the connection is closed.
    public static let http2QueuedBytesPerConnectionMax = 4 << 20
    public static let http2QueuedBytesMax = 128 << 20
    /// How long an HTTP/2 connection's queued answers may go without any of them reaching the client before the
    /// connection is closed.
    public static let http2StalledSecondsMax = 10
    /// The most event answers (list pages and details) the read cache keeps; it is emptied when it fills.
    public static let readCacheEntriesMax = 10_000
    /// The `Retry-After` sent with 503s: the writer's queue drains, and the store recovers, within moments.
    public static let retryAfterSeconds = 1

    /// The most users whose request budgets (rate limits) are remembered at once.
    public static let rateLimitedUsersMax = 100_000

    // MARK: Writer

    /// How long the PostgreSQL store's graceful shutdown may take (the writer draining, the listener and the pool
    /// stopping) before what is still running is cancelled.
    public static let postgresShutdownSeconds = 10

    /// The most writes one write transaction carries (one group commit).
    public static let writeBatchCommandsMax = 1_024
    /// The most writes waiting for the writer; past this, writes are refused with 503 instead of queueing
    /// without bound.
    public static let writeQueueDepthMax = 50_000
    /// The longest a write waits in the queue for the writer to take it; a write still waiting then (the store is
    /// down or stalled) is refused with 503 rather than left hanging. It was never carried out, so a retry is safe.
    public static let writeQueueWaitMilliseconds = 500
    /// The longest from submitting a write to its answer. A write taken into a batch that has not committed by then
    /// is answered 503 anyway; its outcome is unknown (the commit may still land), which the answer says: retry with
    /// the same `Idempotency-Key`. A batch of one takes a few milliseconds on a healthy store; the margin is for a
    /// machine under heavy load.
    public static let writeAnswerTimeoutMilliseconds = 1_000
    /// The longest one read may take before it is answered 503; the read is abandoned (its connection closed).
    public static let storeReadTimeoutMilliseconds = 1_000
    /// After a call finds PostgreSQL out of reach, how long every call is answered 503 at once, without being tried;
    /// then one call at a time probes it. As long as `Retry-After` (``retryAfterSeconds``), so a client that waits
    /// as told arrives when the store is tried again.
    public static let storeOutageCooldownMilliseconds = 1_000
    /// How many calls in a row must find PostgreSQL out of reach, none reaching it between them, before the outage
    /// breaker answers 503 at once: one failure among successes is a dead pooled connection, not an outage.
    public static let storeOutageFailuresToOpen = 3
    /// The most values bound in one SQL statement (SQLite's default limit is 32,766). A batch's largest statement
    /// binds 6 values per command, so ``writeBatchCommandsMax`` must stay below a sixth of this.
    public static let sqlBindsPerStatementMax = 30_000
    /// How long PostgreSQL lets one statement run, or one transaction sit idle, before it ends it on its side. Far
    /// above the client's own bounds, it only cleans up after calls the service has already answered.
    public static let postgresStatementTimeoutMilliseconds = 5_000
    /// How long an SQLite statement waits for a lock held by another connection or process before failing.
    public static let sqliteBusyTimeoutMilliseconds = 5_000
}
