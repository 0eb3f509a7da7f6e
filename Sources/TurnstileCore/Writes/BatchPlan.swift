import Foundation

/// The pure part of carrying out one batch of writes, shared by every store: what the batch's decisions depend on,
/// the decisions themselves (each ``WriteOperation``'s rule, with claims through ``BatchAllocator``), and the rows to
/// write.
///
/// A store's writer, inside its write transaction:
/// 1. asks ``needs(of:)`` what to read, reads the bookings and orders it names, then completes the needs with
///    ``Needs/adding(bookings:orders:)`` and reads the rest into ``Inputs`` (ids for new rows included);
/// 2. feeds the batch's writes to ``apply(_:)`` in order, which answers each at once;
/// 3. writes ``finish()``'s ``Effects``, commits, and only then answers the callers and publishes the changes.
///
/// No I/O here, so every rule is tested without a database, and every store decides alike.
public struct BatchPlan: Sendable {
    /// What the store read, as the batch's decisions so far have changed it.
    var inputs: Inputs
    var effects = Effects()
    /// The balances of every resource the batch touches, as decided so far.
    public internal(set) var allocator: BatchAllocator
    /// The row each granted claim made, by the allocator's claim index, for replays later in the batch.
    private var grants: [Int: GrantRecord] = [:]
    /// Holds that had run out and were released when the batch began, until a sweep (``ExpireHolds``) reports them.
    var holdsExpiredAtStart = 0

    public init(_ inputs: Inputs) {
        self.inputs = inputs
        allocator = BatchAllocator(balances: inputs.balances, storedGrants: inputs.storedGrants)
        // A hold that ran out gives its seats back before anything else is decided, so no claim is refused while
        // seats sit in a dead hold.
        for booking in inputs.bookings.values.sorted(by: { $0.id < $1.id }) where booking.holdHasRunOut(at: inputs.now)
        {
            release(booking, as: .expired)
            holdsExpiredAtStart += 1
        }
    }

    /// Everything the batch decided to write, and the changes live feeds announce once it commits.
    public mutating func finish() -> Effects {
        for resource in allocator.changedResources.sorted() {
            let balance = allocator.balances[resource]!
            effects.balances[resource] = balance
            if case .seats(let eventID) = resource {
                effects.changes.append(
                    .availability(eventID: eventID, availableSeats: balance.remaining, seatCount: balance.capacity))
            }
        }
        return effects
    }

    // MARK: Claims: seats, stock and credits through the one allocator

    /// Decides `write`'s claim; `grant` turns a granted one into its new row and output, and `refused` may turn a
    /// refusal into a row of its own (a booking joins the waitlist), which the claim's key then remembers as it would
    /// a grant.
    mutating func claim<Write: ClaimOperation>(
        _ write: Write,
        orElse refused: (inout BatchPlan) -> Result<(row: GrantRecord, output: Write.Output), TurnstileError>? = { _ in
            nil
        },
        grant: (inout BatchPlan) -> (row: GrantRecord, output: Write.Output)
    ) -> Result<Write.Output, TurnstileError> {
        let claim = write.claim
        let claimIndex = allocator.claimsDecided
        let decision = allocator.decide(claim)
        let made: Result<(row: GrantRecord, output: Write.Output), TurnstileError>
        switch decision {
        case .granted:
            made = .success(grant(&self))
        case .replay(of: .inBatch(let originalIndex)):
            guard let row = grants[originalIndex] else {
                preconditionFailure("an in-batch replay repeats a grant of this batch")
            }
            return replay(write, of: row)
        case .replay(of: .stored):
            guard let ref = claim.idempotencyRef, let row = inputs.storedGrantRecords[ref] else {
                preconditionFailure("a stored grant comes with its record")
            }
            return replay(write, of: row)
        case .refused(let remaining):
            guard let answer = refused(&self) else {
                return .failure(.refusal(of: claim, remaining: remaining))
            }
            made = answer
            if case .success = made { allocator.remember(claim, decidedAt: claimIndex) }
        case .unknownResource:
            return .failure(.notFound(entity: claim.resource.entity, id: claim.resource.id))
        case .keyReused:
            return .failure(.idempotencyKeyReused)
        }
        return made.map { row, output in
            grants[claimIndex] = row
            if let ref = claim.idempotencyRef {
                effects.claimKeys.append(
                    StoredClaimKey(
                        ref: ref, resource: claim.resource, amount: claim.amount, grantID: row.id,
                        outcome: row.outcome))
            }
            return output
        }
    }

    /// A repeat's answer; a key whose grant made another kind of row was used for another request.
    private func replay<Write: ClaimOperation>(
        _ write: Write, of row: GrantRecord
    ) -> Result<Write.Output, TurnstileError> {
        guard let output = write.replay(of: row, on: self) else { return .failure(.idempotencyKeyReused) }
        return .success(output)
    }

    mutating func recordLedgerEntry(
        userID: Int64, kind: LedgerEntry.Kind, amount: Int, reason: String?
    ) -> LedgerEntry {
        let entry = LedgerEntry(
            id: inputs.nextIDs.take(\.ledgerEntry), userID: userID, kind: kind, amount: amount,
            balanceAfter: account(of: userID).balance, reason: reason, createdAt: inputs.now)
        effects.ledger.append(entry)
        return entry
    }

    func account(of userID: Int64) -> CreditAccount {
        guard let balance = allocator.balances[.credits(userID: userID)] else {
            preconditionFailure("the credit balance of user \(userID) was not loaded")
        }
        return CreditAccount(userID: userID, balance)
    }

    // MARK: Holds and the waitlist

    /// A booking as this batch last left it, if `userID` owns it; another user's booking is not found.
    func booking(id: Int64, userID: Int64) -> Booking? {
        guard let booking = effects.bookings[id] ?? inputs.bookings[id], booking.userID == userID else { return nil }
        return booking
    }

    /// Gives a booking's seats back to its event, then offers them to the event's waitlist.
    @discardableResult
    mutating func release(_ booking: Booking, as status: Booking.Status) -> Booking {
        precondition(booking.status.holdsSeats && !status.holdsSeats, "only a live booking releases seats")
        let released = booking.with(status: status)
        effects.bookings[booking.id] = released
        allocator.release(booking.resource, amount: booking.seatCount)
        let share = UserEvent(userID: booking.userID, eventID: booking.eventID)
        if let held = inputs.userSeats[share] { inputs.userSeats[share] = max(0, held - booking.seatCount) }
        offerReleasedSeats(eventID: booking.eventID)
        return released
    }

    /// Offers an event's free seats to its waitlist in order, each entry that fits getting a hold for
    /// ``Limits/waitlistOfferHoldSeconds``. As with claims, an entry too large for what is free does not block a
    /// smaller one behind it.
    private mutating func offerReleasedSeats(eventID: Int64) {
        guard let waiting = inputs.waitlists[eventID] else {
            preconditionFailure("the waitlist of event \(eventID), which releases seats, was not loaded")
        }
        var stillWaiting: [WaitlistEntry] = []
        for entry in waiting {
            let seats = ResourceKey.seats(eventID: eventID)
            guard allocator.decide(Claim(resource: seats, amount: entry.seatCount, userID: entry.userID)) == .granted
            else {
                stillWaiting.append(entry)
                continue
            }
            let hold = Booking(
                id: inputs.nextIDs.take(\.booking), userID: entry.userID, eventID: eventID, seatCount: entry.seatCount,
                status: .held, expiresAt: inputs.now.addingTimeInterval(TimeInterval(Limits.waitlistOfferHoldSeconds)),
                createdAt: inputs.now)
            let offered = entry.offered(bookingID: hold.id)
            effects.bookings[hold.id] = hold
            effects.waitlist[entry.id] = offered
            effects.changes.append(.waitlistOffer(offered, hold: hold))
        }
        inputs.waitlists[eventID] = stillWaiting
    }
}
