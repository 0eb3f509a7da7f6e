import TurnstileCore

/// The pure part of carrying out one batch of writes, shared by every store: which rows the batch's decisions depend
/// on, the decisions themselves (through ``BatchAllocator``), and each write's result.
///
/// A store's writer, inside its write transaction: asks ``needs(of:)`` what to read; reads it into ``Inputs``; feeds
/// the batch's commands to the plan in order (storing new users and events itself, and telling the plan about new
/// events); writes the plan's grants, cancellations and changed balances; then, once the new bookings have ids,
/// asks ``complete(_:created:)`` for every result. No I/O here, so every rule is tested without a database.
public struct BatchPlan: Sendable {
    /// What a batch's decisions depend on, for the store to read.
    public struct Needs: Equatable, Sendable {
        /// Events claimed from (events of cancelled bookings are added once those bookings are read).
        public var eventIDs: Set<Int64> = []
        /// Idempotency keys whose earlier grants must be found.
        public var idempotencyRefs: Set<IdempotencyRef> = []
        /// Bookings asked to be cancelled.
        public var bookingIDs: Set<Int64> = []
        /// Accounts the batch acts for, which must exist.
        public var userIDs: Set<Int64> = []
    }

    /// What the store read for the batch.
    public struct Inputs: Sendable {
        public var balances: [Int64: ResourceBalance]
        /// Grants stored under the batch's idempotency keys, and the bookings they made.
        public var storedGrants: [IdempotencyRef: KeyedGrant]
        public var storedBookings: [Int64: Booking]
        /// The bookings asked to be cancelled that exist (whoever owns them).
        public var cancellable: [Int64: Booking]
        /// The accounts of ``Needs/userIDs`` that exist.
        public var knownUserIDs: Set<Int64>

        public init(
            balances: [Int64: ResourceBalance], storedGrants: [IdempotencyRef: KeyedGrant] = [:],
            storedBookings: [Int64: Booking] = [:], cancellable: [Int64: Booking] = [:], knownUserIDs: Set<Int64>
        ) {
            self.balances = balances
            self.storedGrants = storedGrants
            self.storedBookings = storedBookings
            self.cancellable = cancellable
            self.knownUserIDs = knownUserIDs
        }
    }

    /// A booking granted in this batch, waiting for the store to give it an id.
    public struct Grant: Sendable {
        public let commandIndex: Int
        public let claim: Claim
    }

    /// The balances as decided so far; ``BatchAllocator/changedResourceIDs`` says which to write back.
    public private(set) var allocator: BatchAllocator
    /// New bookings, in the order they were granted.
    public private(set) var grants: [Grant] = []
    /// Bookings this batch cancels.
    public private(set) var cancelledBookingIDs: [Int64] = []

    private let storedBookings: [Int64: Booking]
    private let knownUserIDs: Set<Int64>
    private var cancellable: [Int64: Booking]
    private var replaysInBatch: [(commandIndex: Int, claimIndex: Int)] = []
    private var commandIndexOfClaim: [Int] = []

    /// What `batch` needs read before it can be decided.
    public static func needs(of batch: [WriteCommand]) -> Needs {
        var needs = Needs()
        for command in batch {
            if let userID = command.actingUserID { needs.userIDs.insert(userID) }
            switch command {
            case .book(let claim):
                needs.eventIDs.insert(claim.resourceID)
                if let ref = claim.idempotencyRef { needs.idempotencyRefs.insert(ref) }
            case .cancelBooking(let id, _):
                needs.bookingIDs.insert(id)
            case .register, .createEvent:
                break
            }
        }
        return needs
    }

    public init(_ inputs: Inputs) {
        allocator = BatchAllocator(balances: inputs.balances, storedGrants: inputs.storedGrants)
        storedBookings = inputs.storedBookings
        knownUserIDs = inputs.knownUserIDs
        cancellable = inputs.cancellable
    }

    /// The result for a write on behalf of an account that does not exist (any more), which must not be carried out;
    /// nil when the command may go ahead.
    public func refusal(for command: WriteCommand) -> WriteResult? {
        guard let userID = command.actingUserID, !knownUserIDs.contains(userID) else { return nil }
        return .failure(.accountGone)
    }

    /// Tells the plan about an event the store created earlier in this batch, so later claims can find it.
    public mutating func add(_ event: Event) {
        allocator.add(
            resourceID: event.id, balance: ResourceBalance(capacity: event.seatCount, remaining: event.availableSeats))
    }

    /// Decides a booking. Grants and replays of grants made in this batch get their result from
    /// ``complete(_:created:)`` (nil here); everything else is answered now.
    public mutating func decide(_ claim: Claim, commandIndex: Int) -> WriteResult? {
        let claimIndex = allocator.claimsDecided
        commandIndexOfClaim.append(commandIndex)
        let decision = allocator.decide(claim)
        switch decision {
        case .granted:
            grants.append(Grant(commandIndex: commandIndex, claim: claim))
            return nil
        case .replay(of: .inBatch(let originalIndex)):
            replaysInBatch.append((commandIndex, originalIndex))
            precondition(originalIndex < claimIndex, "a replay repeats an earlier claim")
            return nil
        case .replay(of: .stored(let bookingID)):
            guard let booking = storedBookings[bookingID] else {
                preconditionFailure("a stored grant comes with its booking")
            }
            return .success(.booking(.replayed(booking)))
        case .refused, .unknownResource, .keyReused:
            return WriteResult.refusal(decision, claim: claim)
        }
    }

    /// Cancels a booking the user owns, returning its seats; cancelling a cancelled booking changes nothing, and
    /// another user's booking is not found.
    public mutating func cancel(bookingID: Int64, userID: Int64) -> WriteResult {
        guard let booking = cancellable[bookingID], booking.userID == userID else {
            return .failure(.notFound(entity: "booking", id: bookingID))
        }
        guard booking.status == .confirmed else { return .success(.cancelled(booking)) }
        allocator.release(resourceID: booking.eventID, amount: booking.seatCount)
        let cancelled = booking.cancelled()
        cancellable[bookingID] = cancelled
        cancelledBookingIDs.append(bookingID)
        return .success(.cancelled(cancelled))
    }

    /// Fills in the results of the grants, now stored as `created` (by command index), and of their in-batch replays.
    public func complete(_ results: inout [WriteResult?], created: [Int: Booking]) {
        for (commandIndex, booking) in created { results[commandIndex] = .success(.booking(.created(booking))) }
        for (commandIndex, claimIndex) in replaysInBatch {
            guard let original = created[commandIndexOfClaim[claimIndex]] else {
                preconditionFailure("an in-batch replay repeats a grant of this batch")
            }
            results[commandIndex] = .success(.booking(.replayed(original)))
        }
    }
}
