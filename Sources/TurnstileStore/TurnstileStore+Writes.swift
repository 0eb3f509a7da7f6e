import TurnstileCore

/// Shorthands for the service's writes, each one ``TurnstileStore/write(_:)`` of its operation; the operations say
/// what each does and how it is refused.
extension TurnstileStore {
    public func register(_ registration: Registration, passwordHash: String) async throws(TurnstileError) -> User {
        try await write(Register(registration, passwordHash: passwordHash))
    }

    public func createEvent(_ event: NewEvent, organizerID: Int64) async throws(TurnstileError) -> Event {
        try await write(CreateEvent(event, organizerID: organizerID))
    }

    public func book(_ request: BookingRequest) async throws(TurnstileError) -> BookingOutcome {
        try await write(Book(request))
    }

    public func cancelBooking(id: Int64, userID: Int64) async throws(TurnstileError) -> Booking {
        try await write(CancelBooking(id: id, userID: userID))
    }

    public func confirmBooking(id: Int64, userID: Int64) async throws(TurnstileError) -> Booking {
        try await write(ConfirmBooking(id: id, userID: userID))
    }

    /// Releases every hold that ran out; returns how many.
    @discardableResult
    public func expireHolds() async throws(TurnstileError) -> Int {
        try await write(ExpireHolds())
    }

    public func createProduct(_ product: NewProduct, userID: Int64) async throws(TurnstileError) -> Product {
        try await write(CreateProduct(product, userID: userID))
    }

    public func placeOrder(_ request: OrderRequest) async throws(TurnstileError) -> (order: Order, replayed: Bool) {
        let outcome = try await write(PlaceOrder(request))
        return (outcome.order, outcome.replayed)
    }

    public func advanceOrder(id: Int64, userID: Int64, action: OrderAction) async throws(TurnstileError) -> Order {
        try await write(AdvanceOrder(id: id, userID: userID, action: action))
    }

    public func topUp(_ request: TopUpRequest) async throws(TurnstileError) -> (LedgerEntry, CreditAccount) {
        let outcome = try await write(TopUp(request))
        return (outcome.entry, outcome.account)
    }

    public func deduct(
        _ request: DeductionRequest
    ) async throws(TurnstileError) -> (entry: LedgerEntry, account: CreditAccount, replayed: Bool) {
        let outcome = try await write(Deduct(request))
        return (outcome.entry, outcome.account, outcome.replayed)
    }

    public func createItem(_ item: NewItem, sellerID: Int64) async throws(TurnstileError) -> Item {
        try await write(CreateItem(item, sellerID: sellerID))
    }

    public func bid(_ request: BidRequest) async throws(TurnstileError) -> (bid: Bid, item: Item) {
        let outcome = try await write(PlaceBid(request))
        return (outcome.bid, outcome.item)
    }
}
