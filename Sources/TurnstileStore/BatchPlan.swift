import Foundation
import TurnstileCore

/// The pure part of carrying out one batch of writes, shared by every store: what the batch's decisions depend on,
/// the decisions themselves (claims through ``BatchAllocator``, bids through ``Item/judge(amountCents:bidderID:at:)``,
/// orders through ``OrderStatus/after(_:)``), and the rows to write.
///
/// A store's writer, inside its write transaction:
/// 1. asks ``needs(of:)`` what to read, reads the bookings and orders it names, then completes the needs with
///    ``Needs/adding(bookings:orders:)`` and reads the rest into ``Inputs`` (ids for new rows included);
/// 2. feeds the batch's commands to ``apply(_:)`` in order, which answers each at once;
/// 3. writes ``finish()``'s ``Effects``, commits, and only then answers the callers and publishes the changes.
///
/// No I/O here, so every rule is tested without a database, and every store decides alike.
public struct BatchPlan: Sendable {
    /// The plan's state, beyond the allocator's balances.
    private var inputs: Inputs
    private var effects = Effects()
    /// The balances of every resource the batch touches, as decided so far.
    public private(set) var allocator: BatchAllocator
    /// The output of each granted claim, by the allocator's claim index, for replays later in the batch.
    private var grantOutputs: [Int: WriteOutput] = [:]
    /// Holds that had run out and were released when the batch began.
    private var holdsExpiredAtStart = 0

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

    /// Decides one write, the next in arrival order, and answers it.
    public mutating func apply(_ command: WriteCommand) -> WriteResult {
        // A write for an account that is gone fails alone; let through, its foreign key would fail the batch.
        if let userID = command.actingUserID, !inputs.knownUserIDs.contains(userID) {
            return .failure(.accountGone)
        }
        switch command {
        case .register(let registration, let passwordHash): return register(registration, passwordHash: passwordHash)
        case .createEvent(let event, let organizerID): return create(event, organizerID: organizerID)
        case .book(let request): return book(request)
        case .cancelBooking(let id, let userID): return cancelBooking(id: id, userID: userID)
        case .confirmBooking(let id, let userID): return confirmBooking(id: id, userID: userID)
        case .expireHolds:
            defer { holdsExpiredAtStart = 0 }
            return .success(.holdsExpired(count: holdsExpiredAtStart))
        case .createProduct(let product, _): return create(product)
        case .placeOrder(let request): return placeOrder(request)
        case .advanceOrder(let id, let userID, let action): return advanceOrder(id: id, userID: userID, action: action)
        case .topUp(let request): return topUp(request)
        case .deduct(let request): return deduct(request)
        case .createItem(let item, let sellerID): return create(item, sellerID: sellerID)
        case .bid(let request): return bid(request)
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

    // MARK: Accounts and catalogue

    private mutating func register(_ registration: Registration, passwordHash: String) -> WriteResult {
        guard inputs.takenEmails.insert(registration.email).inserted else { return .failure(.emailTaken) }
        let user = User(
            id: inputs.nextIDs.take(\.user), email: registration.email, username: registration.username,
            createdAt: inputs.now)
        effects.users.append(StoredCredentials(user: user, passwordHash: passwordHash))
        inputs.knownUserIDs.insert(user.id)
        return .success(.user(user))
    }

    private mutating func create(_ new: NewEvent, organizerID: Int64) -> WriteResult {
        let event = Event(
            id: inputs.nextIDs.take(\.event), title: new.title, description: new.description, date: new.date,
            location: new.location, seatCount: new.seatCount, availableSeats: new.seatCount,
            organizerID: organizerID, createdAt: inputs.now, seatsPerUserMax: new.seatsPerUserMax)
        effects.events.append(event)
        allocator.add(
            .seats(eventID: event.id), balance: ResourceBalance(capacity: event.seatCount, remaining: event.seatCount))
        inputs.waitlists[event.id] = []
        inputs.seatsPerUserMax[event.id] = event.seatsPerUserMax
        return .success(.event(event))
    }

    private mutating func create(_ new: NewProduct) -> WriteResult {
        guard inputs.takenSKUs.insert(new.sku).inserted else { return .failure(.skuTaken(sku: new.sku)) }
        let product = Product(
            id: inputs.nextIDs.take(\.product), sku: new.sku, name: new.name, priceCents: new.priceCents,
            stockTotal: new.stock, stock: new.stock, createdAt: inputs.now)
        effects.products.append(product)
        inputs.products[product.id] = product
        allocator.add(product.resource, balance: ResourceBalance(capacity: new.stock, remaining: new.stock))
        return .success(.product(product))
    }

    private mutating func create(_ new: NewItem, sellerID: Int64) -> WriteResult {
        let item = Item(
            id: inputs.nextIDs.take(\.item), sellerID: sellerID, title: new.title,
            startingPriceCents: new.startingPriceCents, minIncrementCents: new.minIncrementCents, endsAt: new.endsAt,
            createdAt: inputs.now)
        inputs.items[item.id] = item
        effects.items[item.id] = item
        return .success(.item(item))
    }

    // MARK: Claims: seats, stock and credits through the one allocator

    /// Decides a claim; `grant` turns a granted one into its new row and output.
    private mutating func claim(
        _ claim: Claim, orElse refused: (inout BatchPlan, ClaimDecision) -> WriteResult? = { _, _ in nil },
        grant: (inout BatchPlan) -> (grantID: Int64, output: WriteOutput)
    ) -> WriteResult {
        let claimIndex = allocator.claimsDecided
        let decision = allocator.decide(claim)
        switch decision {
        case .granted:
            let (grantID, output) = grant(&self)
            grantOutputs[claimIndex] = output
            if let ref = claim.idempotencyRef {
                effects.claimKeys.append(
                    StoredClaimKey(ref: ref, resource: claim.resource, amount: claim.amount, grantID: grantID))
            }
            return .success(output)
        case .replay(of: .inBatch(let originalIndex)):
            guard let original = grantOutputs[originalIndex] else {
                preconditionFailure("an in-batch replay repeats a grant of this batch")
            }
            return .success(original.replayed)
        case .replay(of: .stored):
            guard let ref = claim.idempotencyRef, let record = inputs.storedGrantRecords[ref] else {
                preconditionFailure("a stored grant comes with its record")
            }
            return .success(reply(to: record))
        case .refused, .unknownResource, .keyReused:
            return refused(&self, decision) ?? WriteResult.refusal(decision, claim: claim)!
        }
    }

    private func reply(to record: GrantRecord) -> WriteOutput {
        switch record {
        case .booking(let booking): .booking(.replayed(effects.bookings[booking.id] ?? booking))
        case .order(let order): .order(effects.orders[order.id] ?? inputs.orders[order.id] ?? order, replayed: true)
        case .ledgerEntry(let entry): .ledgerEntry(entry, account(of: entry.userID), replayed: true)
        }
    }

    /// A booking: refused at once when it would take its user past the event's per-person limit (seats held, booked
    /// and waited for together), unless it repeats an earlier grant under its idempotency key; then a claim, which
    /// may join the waitlist instead.
    private mutating func book(_ request: BookingRequest) -> WriteResult {
        let share = UserEvent(userID: request.claim.userID, eventID: request.eventID)
        if !allocator.repeatsGrant(request.claim), let limit = inputs.seatsPerUserMax[request.eventID] {
            let held = inputs.userSeats[share, default: 0]
            guard held + request.claim.amount <= limit else {
                return .failure(
                    .userLimitReached(
                        eventID: request.eventID, limit: limit, held: held, requested: request.claim.amount))
            }
        }
        let result = claimSeats(request)
        if case .success(.booking(let outcome)) = result {
            switch outcome {
            case .created, .waitlisted: inputs.userSeats[share, default: 0] += request.claim.amount
            case .replayed: break
            }
        }
        return result
    }

    private mutating func claimSeats(_ request: BookingRequest) -> WriteResult {
        claim(
            request.claim,
            orElse: { plan, decision in
                guard request.joinsWaitlist, case .refused = decision else { return nil }
                return plan.joinWaitlist(request)
            },
            grant: { plan in
                let expiresAt = request.holdSeconds.map { plan.inputs.now.addingTimeInterval(TimeInterval($0)) }
                let booking = Booking(
                    id: plan.inputs.nextIDs.take(\.booking), userID: request.claim.userID, eventID: request.eventID,
                    seatCount: request.claim.amount, status: expiresAt == nil ? .confirmed : .held,
                    expiresAt: expiresAt, createdAt: plan.inputs.now)
                plan.effects.bookings[booking.id] = booking
                return (booking.id, .booking(.created(booking)))
            })
    }

    private mutating func placeOrder(_ request: OrderRequest) -> WriteResult {
        claim(request.claim) { plan in
            let productID = request.claim.resource.id
            guard let product = plan.inputs.products[productID] else {
                preconditionFailure("a granted order's product was loaded with its stock")
            }
            let order = Order(
                id: plan.inputs.nextIDs.take(\.order), userID: request.claim.userID, productID: productID,
                quantity: request.claim.amount, totalCents: product.priceCents * request.claim.amount,
                status: .pending, createdAt: plan.inputs.now)
            plan.effects.orders[order.id] = order
            return (order.id, .order(order, replayed: false))
        }
    }

    private mutating func deduct(_ request: DeductionRequest) -> WriteResult {
        claim(request.claim) { plan in
            let entry = plan.recordLedgerEntry(
                userID: request.claim.userID, kind: .deduction, amount: -request.claim.amount, reason: request.reason)
            return (entry.id, .ledgerEntry(entry, plan.account(of: entry.userID), replayed: false))
        }
    }

    private mutating func topUp(_ request: TopUpRequest) -> WriteResult {
        let resource = ResourceKey.credits(userID: request.userID)
        guard let balance = allocator.balances[resource] else {
            preconditionFailure("an acting user's credit balance is always loaded")
        }
        guard balance.capacity <= Limits.creditBalanceMax - request.amount else {
            return .failure(.creditLimitExceeded(balance: balance.remaining))
        }
        allocator.grow(resource, by: request.amount)
        let entry = recordLedgerEntry(userID: request.userID, kind: .topUp, amount: request.amount, reason: nil)
        return .success(.ledgerEntry(entry, account(of: request.userID), replayed: false))
    }

    private mutating func recordLedgerEntry(
        userID: Int64, kind: LedgerEntry.Kind, amount: Int, reason: String?
    ) -> LedgerEntry {
        let entry = LedgerEntry(
            id: inputs.nextIDs.take(\.ledgerEntry), userID: userID, kind: kind, amount: amount,
            balanceAfter: account(of: userID).balance, reason: reason, createdAt: inputs.now)
        effects.ledger.append(entry)
        return entry
    }

    private func account(of userID: Int64) -> CreditAccount {
        guard let balance = allocator.balances[.credits(userID: userID)] else {
            preconditionFailure("the credit balance of user \(userID) was not loaded")
        }
        return CreditAccount(userID: userID, balance)
    }

    // MARK: Holds and the waitlist

    private mutating func cancelBooking(id: Int64, userID: Int64) -> WriteResult {
        guard let booking = booking(id: id, userID: userID) else {
            return .failure(.notFound(entity: "booking", id: id))
        }
        guard booking.status.holdsSeats else { return .success(.bookingChanged(booking)) }
        return .success(.bookingChanged(release(booking, as: .cancelled)))
    }

    private mutating func confirmBooking(id: Int64, userID: Int64) -> WriteResult {
        guard let booking = booking(id: id, userID: userID) else {
            return .failure(.notFound(entity: "booking", id: id))
        }
        switch booking.status {
        case .held:
            let confirmed = booking.with(status: .confirmed)
            effects.bookings[id] = confirmed
            return .success(.bookingChanged(confirmed))
        case .confirmed: return .success(.bookingChanged(booking))
        case .expired: return .failure(.holdExpired(bookingID: id))
        case .cancelled:
            return .failure(.illegalTransition(entity: "booking", id: id, status: "cancelled", action: "confirm"))
        }
    }

    /// A booking as this batch last left it, if `userID` owns it; another user's booking is not found.
    private func booking(id: Int64, userID: Int64) -> Booking? {
        guard let booking = effects.bookings[id] ?? inputs.bookings[id], booking.userID == userID else { return nil }
        return booking
    }

    /// Gives a booking's seats back to its event, then offers them to the event's waitlist.
    @discardableResult
    private mutating func release(_ booking: Booking, as status: Booking.Status) -> Booking {
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

    private mutating func joinWaitlist(_ request: BookingRequest) -> WriteResult {
        guard let waiting = inputs.waitlists[request.eventID] else {
            preconditionFailure("the waitlist of event \(request.eventID), which a request joins, was not loaded")
        }
        guard waiting.count < Limits.waitlistLengthMax else { return .failure(.waitlistFull(eventID: request.eventID)) }
        let entry = WaitlistEntry(
            id: inputs.nextIDs.take(\.waitlistEntry), eventID: request.eventID, userID: request.claim.userID,
            seatCount: request.claim.amount, status: .waiting, position: waiting.count + 1, createdAt: inputs.now)
        inputs.waitlists[request.eventID] = waiting + [entry]
        effects.waitlist[entry.id] = entry
        return .success(.booking(.waitlisted(entry)))
    }

    // MARK: Orders and bids

    private mutating func advanceOrder(id: Int64, userID: Int64, action: OrderAction) -> WriteResult {
        guard let order = effects.orders[id] ?? inputs.orders[id], order.userID == userID else {
            return .failure(.notFound(entity: "order", id: id))
        }
        guard let status = order.status.after(action) else {
            return .failure(
                .illegalTransition(entity: "order", id: id, status: order.status.rawValue, action: action.rawValue))
        }
        if !status.holdsStock { allocator.release(order.resource, amount: order.quantity) }
        let advanced = order.with(status: status)
        effects.orders[id] = advanced
        return .success(.order(advanced, replayed: false))
    }

    private mutating func bid(_ request: BidRequest) -> WriteResult {
        guard let item = inputs.items[request.itemID] else {
            return .failure(.notFound(entity: "item", id: request.itemID))
        }
        switch item.judge(amountCents: request.amountCents, bidderID: request.bidderID, at: inputs.now) {
        case .success(let (item, bid)):
            inputs.items[item.id] = item
            effects.items[item.id] = item
            effects.bids.append(bid)
            effects.changes.append(.bid(bid))
            return .success(.bid(bid, item))
        case .failure(let error):
            return .failure(error)
        }
    }
}
