import Foundation
import Testing
import TurnstileCore

/// The rules every store carries out, without a database.
@Suite("BatchPlan")
struct BatchPlanTests {
    private let now = Date(timeIntervalSince1970: 1_900_000_000)
    private let seats = ResourceKey.seats(eventID: 42)

    private func booking(
        _ id: Int64, user: Int64, seats: Int, status: Booking.Status = .confirmed, expiresAt: Date? = nil
    ) -> Booking {
        Booking(
            id: id, userID: user, eventID: 42, seatCount: seats, status: status, expiresAt: expiresAt, createdAt: now)
    }

    private func book(
        _ seats: Int, user: Int64, key: String? = nil, hold: Int? = nil, waitlist: Bool = false
    )
        throws -> Book
    {
        Book(
            try BookingRequest(
                eventID: 42, seatCount: seats, userID: user, idempotencyKey: key, holdSeconds: hold,
                joinsWaitlist: waitlist))
    }

    private func inputs(
        seatsLeft: Int, capacity: Int = 10, users: Set<Int64> = [1, 2, 3], bookings: [Booking] = [],
        waitlist: [WaitlistEntry]? = nil
    ) -> BatchPlan.Inputs {
        var inputs = BatchPlan.Inputs(now: now)
        inputs.balances = [seats: ResourceBalance(capacity: capacity, remaining: seatsLeft)]
        inputs.knownUserIDs = users
        inputs.bookings = Dictionary(uniqueKeysWithValues: bookings.map { ($0.id, $0) })
        inputs.waitlists = waitlist.map { [42: $0] } ?? [:]
        inputs.nextIDs.booking = 100
        inputs.nextIDs.waitlistEntry = 500
        return inputs
    }

    @Test("a batch names what it needs read: balances, keys, bookings, orders, items and accounts")
    func needs() throws {
        let batch: [any WriteOperation] = [
            try book(1, user: 7, key: "k", waitlist: true),
            CancelBooking(id: 9, userID: 8),
            Register(try Registration(email: "a@b.io", username: "ada", password: "password1"), passwordHash: "h"),
            AdvanceOrder(id: 3, userID: 7, action: .pay),
            TopUp(try TopUpRequest(userID: 8, amount: 5)),
            PlaceBid(try BidRequest(itemID: 4, bidderID: 7, amountCents: 100)),
        ]
        let needs = BatchPlan.needs(of: batch)
        #expect(needs.resources == [seats, .credits(userID: 8)])
        #expect(needs.bookingIDs == [9] && needs.orderIDs == [3] && needs.itemIDs == [4])
        #expect(needs.userIDs == [7, 8] && needs.emails == ["a@b.io"] && needs.waitlistEventIDs == [42])
        #expect(needs.idempotencyRefs == [IdempotencyRef(userID: 7, key: "k")])
        #expect(needs.userEvents == [UserEvent(userID: 7, eventID: 42)])
    }

    @Test("one user may hold, book and wait for at most the event's per-person limit, counted across the batch")
    func perUserLimit() throws {
        var start = inputs(seatsLeft: 100, capacity: 100)
        start.seatsPerUserMax = [42: 10]
        start.userSeats = [UserEvent(userID: 1, eventID: 42): 4, UserEvent(userID: 2, eventID: 42): 0]
        var plan = BatchPlan(start)
        #expect((try? plan.apply(try book(5, user: 1)).get()) != nil, "4 + 5 fits 10")
        #expect(
            plan.apply(try book(2, user: 1))
                == .failure(.userLimitReached(eventID: 42, limit: 10, held: 9, requested: 2)))
        #expect((try? plan.apply(try book(1, user: 1)).get()) != nil, "exactly at the limit")
        // Fifty bookings of one seat by one user in one batch: ten granted, whatever the seats left.
        let results = try (0..<50).map { _ in plan.apply(try book(1, user: 2)) }
        #expect(results.filter { (try? $0.get()) != nil }.count == 10)
        #expect(plan.allocator.balances[seats]?.remaining == 100 - 6 - 10, "user 1 took 6 in this batch, user 2 ten")
    }

    @Test("a repeat under an idempotency key is answered even at the limit; cancelling frees the allowance")
    func perUserLimitReplaysAndCancels() throws {
        var start = inputs(seatsLeft: 94, capacity: 100, bookings: [booking(7, user: 1, seats: 6)], waitlist: [])
        start.seatsPerUserMax = [42: 10]
        start.userSeats = [UserEvent(userID: 1, eventID: 42): 6]
        var plan = BatchPlan(start)
        let first = try book(4, user: 1, key: "once")
        #expect((try? plan.apply(first).get()) != nil)
        guard case .success(.replayed) = plan.apply(first) else {
            Issue.record("a repeat of a granted booking is a replay, not a refusal")
            return
        }
        #expect((try? plan.apply(CancelBooking(id: 7, userID: 1)).get()) != nil)
        #expect((try? plan.apply(try book(6, user: 1)).get()) != nil, "the cancelled six seats count no more")
    }

    @Test("waitlist places count against the limit too")
    func perUserLimitWaitlist() throws {
        var start = inputs(seatsLeft: 0, capacity: 10, waitlist: [])
        start.seatsPerUserMax = [42: 3]
        start.userSeats = [UserEvent(userID: 1, eventID: 42): 0]
        var plan = BatchPlan(start)
        guard case .success(.waitlisted) = plan.apply(try book(2, user: 1, waitlist: true)) else {
            Issue.record("a sold-out event puts the request on its waitlist")
            return
        }
        #expect(
            plan.apply(try book(2, user: 1, waitlist: true))
                == .failure(.userLimitReached(eventID: 42, limit: 3, held: 2, requested: 2)))
    }

    @Test("grants get ids at once; an in-batch replay answers with the grant; refusals say what is left")
    func grantsAndReplays() throws {
        var plan = BatchPlan(inputs(seatsLeft: 3))
        let first = plan.apply(try book(2, user: 1, key: "k"))
        let replay = plan.apply(try book(2, user: 1, key: "k"))
        let refused = plan.apply(try book(2, user: 2))
        let created = booking(100, user: 1, seats: 2)
        #expect(first == .success(.created(created)))
        #expect(replay == .success(.replayed(created)))
        #expect(refused == .failure(.soldOut(requested: 2, available: 1)))
        let effects = plan.finish()
        #expect(effects.bookings == [100: created])
        #expect(effects.claimKeys.map(\.grantID) == [100])
        #expect(effects.balances[seats]?.remaining == 1)
        #expect(effects.changes == [.availability(eventID: 42, availableSeats: 1, seatCount: 10)])
    }

    @Test("a stored grant is replayed as its stored row")
    func storedReplay() throws {
        let stored = booking(5, user: 1, seats: 1)
        let ref = IdempotencyRef(userID: 1, key: "k")
        var inputs = inputs(seatsLeft: 0)
        inputs.storedGrants = [ref: KeyedGrant(resource: seats, amount: 1, origin: .stored(grantID: 5))]
        inputs.storedGrantRecords = [ref: .booking(stored)]
        var plan = BatchPlan(inputs)
        #expect(plan.apply(try book(1, user: 1, key: "k")) == .success(.replayed(stored)))
        #expect(plan.finish().isEmpty)
    }

    @Test("cancelling: only the owner; the seats go back once")
    func cancel() {
        let live = booking(5, user: 1, seats: 2)
        var plan = BatchPlan(inputs(seatsLeft: 0, capacity: 2, bookings: [live], waitlist: []))
        #expect(plan.apply(CancelBooking(id: 5, userID: 2)) == .failure(.notFound(entity: "booking", id: 5)))
        #expect(
            plan.apply(CancelBooking(id: 5, userID: 1)) == .success(live.with(status: .cancelled)))
        #expect(
            plan.apply(CancelBooking(id: 5, userID: 1)) == .success(live.with(status: .cancelled)))
        #expect(plan.finish().balances[seats]?.remaining == 2)
    }

    @Test("a write for an account that no longer exists is refused before it is decided")
    func accountGone() throws {
        var plan = BatchPlan(inputs(seatsLeft: 1, users: [1]))
        #expect(plan.apply(try book(1, user: 9)) == .failure(.accountGone))
        #expect(plan.apply(try book(1, user: 1)) != .failure(.accountGone))
    }

    @Test("a hold gets an expiry; a live hold confirms; one that ran out is released first and answers 410")
    func holds() throws {
        var plan = BatchPlan(inputs(seatsLeft: 5))
        guard case .success(.created(let hold)) = plan.apply(try book(2, user: 1, hold: 60)) else {
            Issue.record("the hold was not granted")
            return
        }
        #expect(hold.status == .held && hold.expiresAt == now.addingTimeInterval(60))

        let live = booking(7, user: 1, seats: 1, status: .held, expiresAt: now.addingTimeInterval(1))
        let dead = booking(8, user: 2, seats: 3, status: .held, expiresAt: now)
        var later = BatchPlan(inputs(seatsLeft: 0, capacity: 4, bookings: [live, dead], waitlist: []))
        #expect(
            later.apply(ConfirmBooking(id: 7, userID: 1)) == .success(live.with(status: .confirmed)))
        #expect(later.apply(ConfirmBooking(id: 8, userID: 2)) == .failure(.holdExpired(bookingID: 8)))
        #expect(later.apply(ExpireHolds()) == .success(1))
        let effects = later.finish()
        #expect(effects.bookings[8]?.status == .expired)
        #expect(effects.balances[seats]?.remaining == 3)
    }

    @Test("a sold-out event queues waitlisted requests in order and offers released seats to them as holds")
    func waitlist() throws {
        let live = booking(5, user: 1, seats: 2)
        var plan = BatchPlan(inputs(seatsLeft: 0, capacity: 2, bookings: [live], waitlist: []))
        #expect(plan.apply(try book(1, user: 2)) == .failure(.soldOut(requested: 1, available: 0)))
        guard case .success(.waitlisted(let second)) = plan.apply(try book(3, user: 2, waitlist: true)),
            case .success(.waitlisted(let third)) = plan.apply(try book(1, user: 3, waitlist: true))
        else {
            Issue.record("the requests did not join the waitlist")
            return
        }
        #expect(second.position == 1 && third.position == 2)

        // Two seats come back: the first entry wants 3 and keeps waiting; the second fits and gets a hold.
        _ = plan.apply(CancelBooking(id: 5, userID: 1))
        let effects = plan.finish()
        let offer = try #require(effects.waitlist[third.id])
        #expect(offer.status == .offered && effects.waitlist[second.id]?.status == .waiting)
        let hold = try #require(effects.bookings[offer.offeredBookingID ?? 0])
        #expect(hold.status == .held && hold.userID == 3 && hold.seatCount == 1)
        #expect(effects.balances[seats]?.remaining == 1)
        #expect(effects.changes.contains(.waitlistOffer(offer, hold: hold)))
    }

    @Test("a waitlist join under a key is remembered: its retry is the same place, not a second one")
    func waitlistJoinReplays() throws {
        var start = inputs(seatsLeft: 0, capacity: 2, waitlist: [])
        start.seatsPerUserMax = [42: 10]
        start.userSeats = [UserEvent(userID: 2, eventID: 42): 0]
        var plan = BatchPlan(start)
        let join = try book(2, user: 2, key: "line", waitlist: true)
        guard case .success(.waitlisted(let place)) = plan.apply(join) else {
            Issue.record("a sold-out event puts the request on its waitlist")
            return
        }
        #expect(plan.apply(join) == .success(.waitlistReplayed(place)), "the retry in the same batch")
        #expect(plan.apply(try book(2, user: 2, key: "line")) == .failure(.idempotencyKeyReused), "not a join")
        #expect(plan.apply(try book(3, user: 2, key: "line", waitlist: true)) == .failure(.idempotencyKeyReused))
        // Counted once against the limit: 2 waited for, and 8 more still allowed.
        #expect((try? plan.apply(try book(8, user: 2, waitlist: true)).get()) != nil)
        let effects = plan.finish()
        #expect(effects.waitlist.count == 2)
        #expect(
            effects.claimKeys
                == [
                    .init(
                        ref: IdempotencyRef(userID: 2, key: "line"), resource: seats, amount: 2, grantID: place.id,
                        outcome: .waitlisted)
                ])

        // Stored, it is answered as the waitlist has it now, even once seats are free again.
        var later = inputs(seatsLeft: 2, capacity: 2)
        let ref = IdempotencyRef(userID: 2, key: "line")
        later.storedGrants = [ref: KeyedGrant(resource: seats, amount: 2, origin: .stored(grantID: place.id))]
        later.storedGrantRecords = [ref: .waitlistEntry(place)]
        var replayed = BatchPlan(later)
        #expect(replayed.apply(join) == .success(.waitlistReplayed(place)))
        #expect(replayed.finish().isEmpty, "no booking, no second place, no seats taken")
    }

    @Test("orders claim stock and follow pending → paid → shipped; cancelling returns the stock")
    func orders() throws {
        var inputs = BatchPlan.Inputs(now: now)
        inputs.knownUserIDs = [1]
        inputs.takenSKUs = ["TAKEN"]
        var plan = BatchPlan(inputs)
        #expect(
            plan.apply(CreateProduct(try NewProduct(sku: "TAKEN", name: "x", priceCents: 1, stock: 1), userID: 1))
                == .failure(.skuTaken(sku: "TAKEN")))
        guard
            case .success(let product) = plan.apply(
                CreateProduct(try NewProduct(sku: "DROP", name: "Drop", priceCents: 250, stock: 5), userID: 1))
        else {
            Issue.record("the product was not created")
            return
        }
        let order = { (quantity: Int) throws in
            PlaceOrder(
                try OrderRequest(productID: product.id, quantity: quantity, userID: 1, idempotencyKey: nil))
        }
        guard case .success(let outcome) = plan.apply(try order(4)), !outcome.replayed else {
            Issue.record("the order was not placed")
            return
        }
        let placed = outcome.order
        #expect(placed.status == .pending && placed.totalCents == 1_000)
        #expect(plan.apply(try order(2)) == .failure(.insufficientStock(requested: 2, available: 1)))
        #expect(
            plan.apply(AdvanceOrder(id: placed.id, userID: 1, action: .ship))
                == .failure(.illegalTransition(entity: "order", id: placed.id, status: "pending", action: "ship")))
        #expect(
            plan.apply(AdvanceOrder(id: placed.id, userID: 1, action: .pay))
                == .success(placed.with(status: .paid)))
        #expect(
            plan.apply(AdvanceOrder(id: placed.id, userID: 1, action: .cancel))
                == .success(placed.with(status: .cancelled)))
        #expect(
            plan.apply(AdvanceOrder(id: placed.id, userID: 1, action: .cancel))
                == .failure(.illegalTransition(entity: "order", id: placed.id, status: "cancelled", action: "cancel")))
        #expect(plan.finish().balances[.stock(productID: product.id)]?.remaining == 5)
    }

    @Test("credits: top-ups and deductions are ledger entries; the balance never goes below zero")
    func credits() throws {
        let account = ResourceKey.credits(userID: 1)
        var inputs = BatchPlan.Inputs(now: now)
        inputs.knownUserIDs = [1]
        inputs.balances = [account: ResourceBalance(capacity: 0, remaining: 0)]
        var plan = BatchPlan(inputs)
        let deduct = { (amount: Int, key: String?) throws in
            Deduct(
                try DeductionRequest(userID: 1, amount: amount, reason: "api call", idempotencyKey: key))
        }
        #expect(plan.apply(try deduct(1, nil)) == .failure(.insufficientCredits(requested: 1, balance: 0)))
        _ = plan.apply(TopUp(try TopUpRequest(userID: 1, amount: 100)))
        let results = try (0..<25).map { _ in plan.apply(try deduct(5, nil)) }
        #expect(results.filter { (try? $0.get()) != nil }.count == 20)
        #expect(results.last == .failure(.insufficientCredits(requested: 5, balance: 0)))
        let replay = plan.apply(try deduct(5, "k"))
        #expect(replay == .failure(.insufficientCredits(requested: 5, balance: 0)))
        let effects = plan.finish()
        #expect(effects.ledger.map(\.amount).reduce(0, +) == 0)
        #expect(
            effects.ledger.last?.balanceAfter == 0
                && effects.balances[account] == ResourceBalance(capacity: 100, remaining: 0))
    }

    @Test("bids: the first reaches the starting price, each later one the current bid plus the increment")
    func bids() throws {
        var inputs = BatchPlan.Inputs(now: now)
        inputs.knownUserIDs = [1, 2]
        inputs.items = [
            4: Item(
                id: 4, sellerID: 1, title: "Lamp", startingPriceCents: 1_000, minIncrementCents: 100, endsAt: nil,
                createdAt: now),
            5: Item(
                id: 5, sellerID: 1, title: "Gone", startingPriceCents: 1, minIncrementCents: 1, endsAt: now,
                createdAt: now),
        ]
        var plan = BatchPlan(inputs)
        let bid = { (item: Int64, amount: Int) throws in
            PlaceBid(try BidRequest(itemID: item, bidderID: 2, amountCents: amount))
        }
        #expect(plan.apply(try bid(4, 999)) == .failure(.bidTooLow(currentBidCents: nil, minimumNextCents: 1_000)))
        #expect((try? plan.apply(try bid(4, 1_000)).get()) != nil)
        #expect(plan.apply(try bid(4, 1_099)) == .failure(.bidTooLow(currentBidCents: 1_000, minimumNextCents: 1_100)))
        #expect((try? plan.apply(try bid(4, 1_100)).get()) != nil)
        #expect(plan.apply(try bid(5, 10)) == .failure(.auctionClosed(itemID: 5)))
        #expect(plan.apply(try bid(6, 10)) == .failure(.notFound(entity: "item", id: 6)))
        let effects = plan.finish()
        #expect(effects.bids.map(\.seq) == [1, 2] && effects.bids.map(\.amountCents) == [1_000, 1_100])
        #expect(effects.items[4]?.currentBidCents == 1_100 && effects.items[4]?.highestBidderID == 2)
        #expect(effects.changes == effects.bids.map { .bid($0) })
    }
}
