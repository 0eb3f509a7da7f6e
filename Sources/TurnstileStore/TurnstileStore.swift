import ServiceLifecycle
import TurnstileCore

/// The storage port: everything the service asks of a store.
///
/// A store is a `Service`: its `run()` carries out writes (through one writer, see ``WriteQueue``) until graceful
/// shutdown, then finishes the writes already accepted and closes. Every method reports operating errors as
/// ``TurnstileError`` values; adapters map their database's errors to these and nothing above them sees SQL.
///
/// Reads see only committed state, and every write is answered only after it committed.
public protocol TurnstileStore: Service {
    /// A random name this store's data was created with. Access tokens carry it, so a token issued against another
    /// database (or against this file before it was deleted and created anew) is refused rather than read as
    /// whichever account now has its user id.
    var identity: String { get }

    /// How many write batches have committed. It grows *before* any caller of a batch is answered, so a read cache
    /// that remembers the value it read at can tell whether anything may have changed since: no client can have seen
    /// a write acknowledged without the value having moved past it.
    var commitSequence: UInt64 { get }

    /// Opens an account. Throws ``TurnstileError/emailTaken`` when the email already has one.
    func register(_ registration: Registration, passwordHash: String) async throws(TurnstileError) -> User

    /// The account and password hash for an email address (already normalised), if there is one.
    func credentials(email: String) async throws(TurnstileError) -> StoredCredentials?

    /// Creates an event with all its seats available.
    func createEvent(_ event: NewEvent, organizerID: Int64) async throws(TurnstileError) -> Event

    /// One event, if it exists.
    func event(id: Int64) async throws(TurnstileError) -> Event?

    /// One page of events, in order of creation.
    func events(_ page: PageRequest) async throws(TurnstileError) -> Page<Event>

    /// Books seats through the allocator. Throws ``TurnstileError/soldOut(requested:available:)`` when too few seats
    /// are left, ``TurnstileError/notFound(entity:id:)`` for an unknown event and
    /// ``TurnstileError/idempotencyKeyReused`` when the key belongs to a different booking.
    func book(_ request: BookingRequest) async throws(TurnstileError) -> BookingOutcome

    /// Cancels one of the user's bookings and returns its seats to the event. Cancelling a cancelled booking
    /// changes nothing and returns it; another user's booking is ``TurnstileError/notFound(entity:id:)``.
    func cancelBooking(id: Int64, userID: Int64) async throws(TurnstileError) -> Booking

    /// The user's bookings, newest first, at most ``Limits/bookingsListedMax``.
    func bookings(userID: Int64) async throws(TurnstileError) -> [Booking]

    /// Throws ``TurnstileError/storeUnavailable(detail:)`` unless the store answers a trivial query.
    func checkReachable() async throws(TurnstileError)
}
