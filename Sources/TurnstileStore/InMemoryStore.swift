import Foundation
import ServiceLifecycle
import Synchronization
import TurnstileCore

/// A store kept in memory: the test double for unit tests of the service, and a reference for what adapters must do.
///
/// It decides bookings with the same ``BatchAllocator`` as the real stores, one write at a time under a lock. It
/// keeps nothing across restarts; never use it to serve.
public final class InMemoryStore: TurnstileStore {
    fileprivate struct State {
        var users: [StoredCredentials] = []
        var events: [Event] = []
        var bookings: [Booking] = []
        var keyedBookings: [IdempotencyRef: Int64] = [:]
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Date
    public let identity = UUID().uuidString
    private let commits = Atomic<UInt64>(0)
    public var commitSequence: UInt64 { commits.load(ordering: .sequentiallyConsistent) }

    /// Creates an empty store whose timestamps come from `clock`.
    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    /// Nothing to carry out in the background (every write completes under the lock); runs until shutdown, as a
    /// service must, so that a service group does not read its return as a failure.
    public func run() async throws {
        try await gracefulShutdown()
    }

    public func register(_ registration: Registration, passwordHash: String) throws(TurnstileError) -> User {
        let now = clock()
        return try state.withLock { state throws(TurnstileError) in
            if state.users.contains(where: { $0.user.email == registration.email }) { throw .emailTaken }
            let user = User(
                id: Int64(state.users.count + 1), email: registration.email, username: registration.username,
                createdAt: now)
            state.users.append(StoredCredentials(user: user, passwordHash: passwordHash))
            commits.add(1, ordering: .sequentiallyConsistent)
            return user
        }
    }

    public func credentials(email: String) -> StoredCredentials? {
        state.withLock { $0.users.first { $0.user.email == email } }
    }

    public func createEvent(_ event: NewEvent, organizerID: Int64) -> Event {
        let now = clock()
        return state.withLock { state in
            let created = Event(
                id: Int64(state.events.count + 1), title: event.title, description: event.description,
                date: event.date, location: event.location, seatCount: event.seatCount,
                availableSeats: event.seatCount, organizerID: organizerID, createdAt: now)
            state.events.append(created)
            commits.add(1, ordering: .sequentiallyConsistent)
            return created
        }
    }

    public func event(id: Int64) -> Event? {
        state.withLock { state in state.events.first { $0.id == id } }
    }

    public func events(_ page: PageRequest) -> Page<Event> {
        state.withLock { state in
            let items = state.events.dropFirst(page.offset).prefix(page.pageSize)
            return Page(items: Array(items), total: state.events.count, request: page)
        }
    }

    public func book(_ request: BookingRequest) throws(TurnstileError) -> BookingOutcome {
        let claim = request.claim
        let now = clock()
        return try state.withLock { state throws(TurnstileError) in
            var balances: [Int64: ResourceBalance] = [:]
            if let event = state.events.first(where: { $0.id == claim.resourceID }) {
                balances[event.id] = ResourceBalance(capacity: event.seatCount, remaining: event.availableSeats)
            }
            var storedGrants: [IdempotencyRef: KeyedGrant] = [:]
            if let ref = claim.idempotencyRef, let bookingID = state.keyedBookings[ref],
                let booking = state.bookings.first(where: { $0.id == bookingID })
            {
                storedGrants[ref] = KeyedGrant(
                    resourceID: booking.eventID, amount: booking.seatCount, origin: .stored(grantID: booking.id))
            }
            var allocator = BatchAllocator(balances: balances, storedGrants: storedGrants)
            let decision = allocator.decide(claim)
            if case .replay(.stored(let bookingID)) = decision,
                let booking = state.bookings.first(where: { $0.id == bookingID })
            {
                return .replayed(booking)
            }
            if case .failure(let error) = WriteResult.refusal(decision, claim: claim) { throw error }
            let booking = Booking(
                id: Int64(state.bookings.count + 1), userID: claim.userID, eventID: claim.resourceID,
                seatCount: claim.amount, status: .confirmed, createdAt: now)
            state.bookings.append(booking)
            if let ref = claim.idempotencyRef { state.keyedBookings[ref] = booking.id }
            state.setAvailableSeats(allocator.balances[claim.resourceID]!.remaining, eventID: claim.resourceID)
            commits.add(1, ordering: .sequentiallyConsistent)
            return .created(booking)
        }
    }

    public func cancelBooking(id: Int64, userID: Int64) throws(TurnstileError) -> Booking {
        try state.withLock { state throws(TurnstileError) in
            guard let index = state.bookings.firstIndex(where: { $0.id == id && $0.userID == userID }) else {
                throw .notFound(entity: "booking", id: id)
            }
            let booking = state.bookings[index]
            guard booking.status == .confirmed else { return booking }
            let event = state.events.first { $0.id == booking.eventID }!
            var balance = ResourceBalance(capacity: event.seatCount, remaining: event.availableSeats)
            balance.giveBack(booking.seatCount)
            state.setAvailableSeats(balance.remaining, eventID: event.id)
            state.bookings[index] = booking.cancelled()
            commits.add(1, ordering: .sequentiallyConsistent)
            return state.bookings[index]
        }
    }

    public func bookings(userID: Int64) -> [Booking] {
        state.withLock { state in
            Array(state.bookings.filter { $0.userID == userID }.reversed().prefix(Limits.bookingsListedMax))
        }
    }

    public func checkReachable() {}
}

extension InMemoryStore.State {
    fileprivate mutating func setAvailableSeats(_ seats: Int, eventID: Int64) {
        guard let index = events.firstIndex(where: { $0.id == eventID }) else { return }
        events[index] = events[index].withAvailableSeats(seats)
    }
}
