import TurnstileCore

/// Typed writes: each wraps ``TurnstileStore/write(_:)`` and unwraps the output its command always produces.
extension TurnstileStore {
    /// Opens an account. Throws ``TurnstileError/emailTaken`` when the email already has one.
    public func register(_ registration: Registration, passwordHash: String) async throws(TurnstileError) -> User {
        guard case .user(let user) = try await write(.register(registration, passwordHash: passwordHash)) else {
            preconditionFailure("a registration is answered with a user")
        }
        return user
    }

    /// Creates an event with all its seats available.
    public func createEvent(_ event: NewEvent, organizerID: Int64) async throws(TurnstileError) -> Event {
        guard case .event(let created) = try await write(.createEvent(event, organizerID: organizerID)) else {
            preconditionFailure("an event creation is answered with an event")
        }
        return created
    }

    /// Books seats (or holds them, or joins the waitlist) through the allocator. Throws
    /// ``TurnstileError/soldOut(requested:available:)`` when too few seats are left,
    /// ``TurnstileError/notFound(entity:id:)`` for an unknown event and ``TurnstileError/idempotencyKeyReused`` when
    /// the key belongs to a different request.
    public func book(_ request: BookingRequest) async throws(TurnstileError) -> BookingOutcome {
        guard case .booking(let outcome) = try await write(.book(request)) else {
            preconditionFailure("a booking is answered with a booking")
        }
        return outcome
    }

    /// Cancels one of the user's bookings and returns its seats to the event. Cancelling a booking that holds no
    /// seats changes nothing and returns it; another user's booking is ``TurnstileError/notFound(entity:id:)``.
    public func cancelBooking(id: Int64, userID: Int64) async throws(TurnstileError) -> Booking {
        try await changedBooking(.cancelBooking(id: id, userID: userID))
    }

    /// Confirms a hold. Throws ``TurnstileError/holdExpired(bookingID:)`` once it ran out.
    public func confirmBooking(id: Int64, userID: Int64) async throws(TurnstileError) -> Booking {
        try await changedBooking(.confirmBooking(id: id, userID: userID))
    }

    private func changedBooking(_ command: WriteCommand) async throws(TurnstileError) -> Booking {
        guard case .bookingChanged(let booking) = try await write(command) else {
            preconditionFailure("a change to a booking is answered with the booking")
        }
        return booking
    }

    /// Releases every hold that ran out; returns how many.
    @discardableResult
    public func expireHolds() async throws(TurnstileError) -> Int {
        guard case .holdsExpired(let count) = try await write(.expireHolds) else {
            preconditionFailure("a sweep is answered with its count")
        }
        return count
    }

    /// Creates a product with all its stock available. Throws ``TurnstileError/skuTaken(sku:)``.
    public func createProduct(_ product: NewProduct, userID: Int64) async throws(TurnstileError) -> Product {
        guard case .product(let created) = try await write(.createProduct(product, userID: userID)) else {
            preconditionFailure("a product creation is answered with a product")
        }
        return created
    }

    /// Orders units through the allocator. Throws ``TurnstileError/insufficientStock(requested:available:)``.
    public func placeOrder(_ request: OrderRequest) async throws(TurnstileError) -> (order: Order, replayed: Bool) {
        try await order(.placeOrder(request))
    }

    /// Moves one of the user's orders on; cancelling returns its units to stock. Throws
    /// ``TurnstileError/illegalTransition(entity:id:status:action:)`` when the order's state does not allow it.
    public func advanceOrder(id: Int64, userID: Int64, action: OrderAction) async throws(TurnstileError) -> Order {
        try await order(.advanceOrder(id: id, userID: userID, action: action)).order
    }

    private func order(_ command: WriteCommand) async throws(TurnstileError) -> (order: Order, replayed: Bool) {
        guard case .order(let order, let replayed) = try await write(command) else {
            preconditionFailure("an order write is answered with the order")
        }
        return (order, replayed)
    }

    /// Adds credits to the user's balance.
    public func topUp(_ request: TopUpRequest) async throws(TurnstileError) -> (LedgerEntry, CreditAccount) {
        let (entry, account, _) = try await ledgerEntry(.topUp(request))
        return (entry, account)
    }

    /// Deducts credits through the allocator. Throws ``TurnstileError/insufficientCredits(requested:balance:)``.
    public func deduct(
        _ request: DeductionRequest
    ) async throws(TurnstileError) -> (entry: LedgerEntry, account: CreditAccount, replayed: Bool) {
        try await ledgerEntry(.deduct(request))
    }

    private func ledgerEntry(
        _ command: WriteCommand
    ) async throws(TurnstileError) -> (entry: LedgerEntry, account: CreditAccount, replayed: Bool) {
        guard case .ledgerEntry(let entry, let account, let replayed) = try await write(command) else {
            preconditionFailure("a credit write is answered with its ledger entry")
        }
        return (entry, account, replayed)
    }

    /// Puts an item up for auction.
    public func createItem(_ item: NewItem, sellerID: Int64) async throws(TurnstileError) -> Item {
        guard case .item(let created) = try await write(.createItem(item, sellerID: sellerID)) else {
            preconditionFailure("an item creation is answered with the item")
        }
        return created
    }

    /// Bids on an item. Throws ``TurnstileError/bidTooLow(currentBidCents:minimumNextCents:)`` or
    /// ``TurnstileError/auctionClosed(itemID:)``.
    public func bid(_ request: BidRequest) async throws(TurnstileError) -> (bid: Bid, item: Item) {
        guard case .bid(let bid, let item) = try await write(.bid(request)) else {
            preconditionFailure("a bid is answered with the bid")
        }
        return (bid, item)
    }
}
