import Foundation

/// Books seats (or holds them, or joins the waitlist) through the allocator.
///
/// Refused at once when it would take its user past the event's per-person limit (seats held, booked and waited for
/// together), unless it repeats an earlier grant under its idempotency key; then refused with
/// ``TurnstileError/soldOut(requested:available:)`` when too few seats are left (unless it may join the waitlist),
/// ``TurnstileError/notFound(entity:id:)`` for an unknown event and ``TurnstileError/idempotencyKeyReused`` when the
/// key belongs to a different request.
public struct Book: ClaimOperation {
    public let request: BookingRequest

    public init(_ request: BookingRequest) {
        self.request = request
    }

    public var claim: Claim { request.claim }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.add(claim)
        needs.userEvents.insert(share)
        if request.joinsWaitlist { needs.waitlistEventIDs.insert(request.eventID) }
    }

    public func apply(to plan: inout BatchPlan) -> Result<BookingOutcome, TurnstileError> {
        let repeats = plan.allocator.repeatsGrant(claim)
        if !repeats, let limit = plan.inputs.seatsPerUserMax[request.eventID] {
            let held = plan.inputs.userSeats[share, default: 0]
            guard held + claim.amount <= limit else {
                return .failure(
                    .userLimitReached(eventID: request.eventID, limit: limit, held: held, requested: claim.amount))
            }
        }
        let result = plan.claim(
            self,
            orElse: { plan in request.joinsWaitlist ? joinWaitlist(on: &plan) : nil },
            grant: { plan in
                let expiresAt = request.holdSeconds.map { plan.inputs.now.addingTimeInterval(TimeInterval($0)) }
                let booking = Booking(
                    id: plan.inputs.nextIDs.take(\.booking), userID: claim.userID, eventID: request.eventID,
                    seatCount: claim.amount, status: expiresAt == nil ? .confirmed : .held,
                    expiresAt: expiresAt, createdAt: plan.inputs.now)
                plan.effects.bookings[booking.id] = booking
                return (.booking(booking), .created(booking))
            })
        if case .success = result, !repeats { plan.inputs.userSeats[share, default: 0] += claim.amount }
        return result
    }

    /// The booking the key made, as it is now; or, for a request that joined the waitlist, its place again.
    public func replay(of grant: BatchPlan.GrantRecord, on plan: BatchPlan) -> BookingOutcome? {
        switch grant {
        case .booking(let booking): .replayed(plan.effects.bookings[booking.id] ?? booking)
        case .waitlistEntry(let entry) where request.joinsWaitlist:
            .waitlistReplayed(plan.effects.waitlist[entry.id] ?? entry)
        case .waitlistEntry, .order, .ledgerEntry: nil
        }
    }

    /// The user's share of the event, counted against its per-person limit.
    private var share: UserEvent { UserEvent(userID: claim.userID, eventID: request.eventID) }

    private func joinWaitlist(
        on plan: inout BatchPlan
    ) -> Result<(row: BatchPlan.GrantRecord, output: BookingOutcome), TurnstileError> {
        guard let waiting = plan.inputs.waitlists[request.eventID] else {
            preconditionFailure("the waitlist of event \(request.eventID), which a request joins, was not loaded")
        }
        guard waiting.count < Limits.waitlistLengthMax else { return .failure(.waitlistFull(eventID: request.eventID)) }
        let entry = WaitlistEntry(
            id: plan.inputs.nextIDs.take(\.waitlistEntry), eventID: request.eventID, userID: claim.userID,
            seatCount: claim.amount, status: .waiting, position: waiting.count + 1, createdAt: plan.inputs.now)
        plan.inputs.waitlists[request.eventID] = waiting + [entry]
        plan.effects.waitlist[entry.id] = entry
        return .success((.waitlistEntry(entry), .waitlisted(entry)))
    }
}

/// A change to one of the user's own bookings: another user's booking is ``TurnstileError/notFound(entity:id:)``,
/// as is one that does not exist.
public protocol OwnBookingChange: WriteOperation where Output == Booking {
    var id: Int64 { get }
    var userID: Int64 { get }

    /// The change to `booking` (as the batch has it now), which `userID` owns.
    func change(_ booking: Booking, on plan: inout BatchPlan) -> Result<Booking, TurnstileError>
}

extension OwnBookingChange {
    public var actingUserID: Int64? { userID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.bookingIDs.insert(id)
    }

    public func apply(to plan: inout BatchPlan) -> Result<Booking, TurnstileError> {
        guard let booking = plan.booking(id: id, userID: userID) else {
            return .failure(.notFound(entity: "booking", id: id))
        }
        return change(booking, on: &plan)
    }
}

/// Cancels one of the user's bookings and returns its seats to the event (and offers them to its waitlist).
/// Cancelling a booking that holds no seats changes nothing and answers it.
public struct CancelBooking: OwnBookingChange {
    public let id: Int64
    public let userID: Int64

    public init(id: Int64, userID: Int64) {
        self.id = id
        self.userID = userID
    }

    public func change(_ booking: Booking, on plan: inout BatchPlan) -> Result<Booking, TurnstileError> {
        guard booking.status.holdsSeats else { return .success(booking) }
        return .success(plan.release(booking, as: .cancelled))
    }
}

/// Confirms a hold. Refused with ``TurnstileError/holdExpired(bookingID:)`` once it ran out.
public struct ConfirmBooking: OwnBookingChange {
    public let id: Int64
    public let userID: Int64

    public init(id: Int64, userID: Int64) {
        self.id = id
        self.userID = userID
    }

    public func change(_ booking: Booking, on plan: inout BatchPlan) -> Result<Booking, TurnstileError> {
        switch booking.status {
        case .held:
            let confirmed = booking.with(status: .confirmed)
            plan.effects.bookings[id] = confirmed
            return .success(confirmed)
        case .confirmed: return .success(booking)
        case .expired: return .failure(.holdExpired(bookingID: id))
        case .cancelled:
            return .failure(.illegalTransition(entity: "booking", id: id, status: "cancelled", action: "confirm"))
        }
    }
}

/// Releases every hold that ran out (up to ``Limits/holdSweepBookingsMax``): the periodic sweep. Answers how many.
public struct ExpireHolds: WriteOperation {
    public init() {}

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.sweepsHolds = true
    }

    public func apply(to plan: inout BatchPlan) -> Result<Int, TurnstileError> {
        // The plan released them as the batch began.
        defer { plan.holdsExpiredAtStart = 0 }
        return .success(plan.holdsExpiredAtStart)
    }
}
