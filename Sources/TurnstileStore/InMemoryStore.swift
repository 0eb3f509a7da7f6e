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
        guard case .booking(let outcome) = try carryOut(.book(request.claim)) else {
            preconditionFailure("a booking is answered with a booking")
        }
        return outcome
    }

    public func cancelBooking(id: Int64, userID: Int64) throws(TurnstileError) -> Booking {
        guard case .cancelled(let booking) = try carryOut(.cancelBooking(id: id, userID: userID)) else {
            preconditionFailure("a cancellation is answered with a booking")
        }
        return booking
    }

    /// Carries out one booking or cancellation as a batch of one, decided by the same ``BatchPlan`` as the real
    /// stores, under the lock.
    private func carryOut(_ command: WriteCommand) throws(TurnstileError) -> WriteOutput {
        let now = clock()
        return try state.withLock { state throws(TurnstileError) in
            var plan = BatchPlan(state.inputs(for: BatchPlan.needs(of: [command])))
            var results: [WriteResult?] = [plan.refusal(for: command)]
            if results[0] == nil {
                switch command {
                case .book(let claim):
                    results[0] = plan.decide(claim, commandIndex: 0)
                case .cancelBooking(let id, let userID):
                    results[0] = plan.cancel(bookingID: id, userID: userID)
                case .register, .createEvent:
                    preconditionFailure("accounts and events are written directly")
                }
            }
            var created: [Int: Booking] = [:]
            for grant in plan.grants {
                let booking = Booking(
                    id: Int64(state.bookings.count + 1), userID: grant.claim.userID, eventID: grant.claim.resourceID,
                    seatCount: grant.claim.amount, status: .confirmed, createdAt: now)
                state.bookings.append(booking)
                if let ref = grant.claim.idempotencyRef { state.keyedBookings[ref] = booking.id }
                created[grant.commandIndex] = booking
            }
            plan.complete(&results, created: created)
            for id in plan.cancelledBookingIDs {
                if let index = state.bookings.firstIndex(where: { $0.id == id }) {
                    state.bookings[index] = state.bookings[index].cancelled()
                }
            }
            for eventID in plan.allocator.changedResourceIDs {
                state.setAvailableSeats(plan.allocator.balances[eventID]!.remaining, eventID: eventID)
            }
            if !plan.grants.isEmpty || !plan.cancelledBookingIDs.isEmpty {
                commits.add(1, ordering: .sequentiallyConsistent)
            }
            return try results[0]!.get()
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

    /// What a batch needs, read from memory.
    fileprivate func inputs(for needs: BatchPlan.Needs) -> BatchPlan.Inputs {
        let cancellable = Dictionary(
            uniqueKeysWithValues: bookings.filter { needs.bookingIDs.contains($0.id) }.map { ($0.id, $0) })
        let eventIDs = needs.eventIDs.union(cancellable.values.map(\.eventID))
        var balances: [Int64: ResourceBalance] = [:]
        for event in events where eventIDs.contains(event.id) {
            balances[event.id] = ResourceBalance(capacity: event.seatCount, remaining: event.availableSeats)
        }
        var storedGrants: [IdempotencyRef: KeyedGrant] = [:]
        var storedBookings: [Int64: Booking] = [:]
        for ref in needs.idempotencyRefs {
            guard let id = keyedBookings[ref], let booking = bookings.first(where: { $0.id == id }) else { continue }
            storedBookings[id] = booking
            storedGrants[ref] = KeyedGrant(
                resourceID: booking.eventID, amount: booking.seatCount, origin: .stored(grantID: id))
        }
        let knownUserIDs = Set(users.map(\.user.id)).intersection(needs.userIDs)
        return BatchPlan.Inputs(
            balances: balances, storedGrants: storedGrants, storedBookings: storedBookings, cancellable: cancellable,
            knownUserIDs: knownUserIDs)
    }
}
