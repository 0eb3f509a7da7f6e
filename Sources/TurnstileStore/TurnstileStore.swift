import ServiceLifecycle
import TurnstileCore

/// The storage port: everything the service asks of a store.
///
/// A store is a `Service`: its `run()` carries out writes (through one writer, see ``WriteQueue``) until graceful
/// shutdown, then finishes the writes already accepted and closes. Every method reports operating errors as
/// ``TurnstileError`` values; adapters map their database's errors to these and nothing above them sees SQL.
///
/// Every write is a ``WriteOperation`` decided by ``BatchPlan``, so every store decides alike; the shorthands in
/// `TurnstileStore+Writes.swift` wrap ``write(_:)``. Reads see only committed state, and every write is answered
/// only after it committed.
public protocol TurnstileStore: Service {
    /// A random name this store's data was created with. Access tokens carry it, so a token issued against another
    /// database (or against this file before it was deleted and created anew) is refused rather than read as
    /// whichever account now has its user id.
    var identity: String { get }

    /// How many write batches have committed. It grows *before* any caller of a batch is answered, so a read cache
    /// that remembers the value it read at can tell whether anything may have changed since: no client can have seen
    /// a write acknowledged without the value having moved past it.
    var commitSequence: UInt64 { get }

    /// The changes live feeds announce, published once each batch has committed, in commit order.
    var changes: ChangeFeed { get }

    /// The writer's batches as they are carried out (their sizes, and whether they committed), for metrics.
    var writeActivity: WriteActivity { get }

    /// Carries out one write through the store's writer and answers once it committed. A write refused by a rule
    /// (sold out, bid too low, …) throws that rule's error; nothing of it was written.
    func write<Write: WriteOperation>(_ write: Write) async throws(TurnstileError) -> Write.Output

    /// The account and password hash for an email address (already normalised), if there is one.
    func credentials(email: String) async throws(TurnstileError) -> StoredCredentials?

    /// One account, if it exists.
    func user(id: Int64) async throws(TurnstileError) -> User?

    /// One event, if it exists.
    func event(id: Int64) async throws(TurnstileError) -> Event?

    /// One page of events, in order of creation.
    func events(_ page: PageRequest) async throws(TurnstileError) -> Page<Event>

    /// The user's bookings, newest first, at most ``Limits/bookingsListedMax``.
    func bookings(userID: Int64) async throws(TurnstileError) -> [Booking]

    /// One product, if it exists.
    func product(id: Int64) async throws(TurnstileError) -> Product?

    /// One page of products, in order of creation.
    func products(_ page: PageRequest) async throws(TurnstileError) -> Page<Product>

    /// The user's orders, newest first, at most ``Limits/ordersListedMax``.
    func orders(userID: Int64) async throws(TurnstileError) -> [Order]

    /// Counts across all products and orders.
    func stockSummary() async throws(TurnstileError) -> StockSummary

    /// The user's credits (an account with nothing topped up has a balance of 0).
    func creditAccount(userID: Int64) async throws(TurnstileError) -> CreditAccount

    /// The user's ledger, newest first, at most ``Limits/ledgerEntriesListedMax``.
    func ledger(userID: Int64) async throws(TurnstileError) -> [LedgerEntry]

    /// One auction item, if it exists.
    func item(id: Int64) async throws(TurnstileError) -> Item?

    /// The item's accepted bids in order (the last ``Limits/bidsListedMax``).
    func bids(itemID: Int64) async throws(TurnstileError) -> [Bid]

    /// Throws ``TurnstileError/storeUnavailable(detail:)`` unless the store answers a trivial query.
    func checkReachable() async throws(TurnstileError)
}
