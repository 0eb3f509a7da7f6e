/// An operating error: something a caller did or a condition of the world, reported as a value with a stable
/// machine word (`code`) and a sentence a person understands (`detail`).
///
/// Programmer errors are `precondition`s, never cases here. The HTTP layer maps each case to a status code and a
/// problem+json body; nothing below it knows about HTTP.
public enum TurnstileError: Error, Equatable, Sendable {
    /// A field of the input is missing, of the wrong type or out of range.
    case validationFailed(field: String, detail: String)
    /// The request body is not JSON at all.
    case malformedJSON(detail: String)
    /// No such thing, or one the caller may not see (another user's booking reads as missing too).
    case notFound(entity: String, id: Int64)
    /// The email address already belongs to an account.
    case emailTaken
    /// Wrong email or password.
    case invalidCredentials
    /// No bearer token, or one that is malformed, forged or expired.
    case unauthorized(detail: String)
    /// Fewer seats remain than the claim asked for.
    case soldOut(requested: Int, available: Int)
    /// The user would hold, have booked and wait for more seats of the event than one person may.
    case userLimitReached(eventID: Int64, limit: Int, held: Int, requested: Int)
    /// Fewer units are in stock than the order asked for.
    case insufficientStock(requested: Int, available: Int)
    /// The credit balance is smaller than the deduction asked for.
    case insufficientCredits(requested: Int, balance: Int)
    /// A top-up would take the balance past ``Limits/creditBalanceMax``.
    case creditLimitExceeded(balance: Int)
    /// A bid below the least the item accepts now.
    case bidTooLow(currentBidCents: Int?, minimumNextCents: Int)
    /// Bidding on the item has closed.
    case auctionClosed(itemID: Int64)
    /// A seller may not bid on their own item: it would let them drive up the price.
    case ownItem(itemID: Int64)
    /// A hold ran out before it was confirmed; its seats went back.
    case holdExpired(bookingID: Int64)
    /// The thing is not in a state that allows the action (shipping a pending order, confirming a cancelled
    /// booking, …).
    case illegalTransition(entity: String, id: Int64, status: String, action: String)
    /// The SKU already belongs to a product.
    case skuTaken(sku: String)
    /// The event's waitlist holds as many requests as it may.
    case waitlistFull(eventID: Int64)
    /// An idempotency key was reused for a different request.
    case idempotencyKeyReused
    /// The writer's queue is full; the caller should retry shortly.
    case overloaded
    /// The store cannot be reached or failed; the caller should retry shortly.
    case storeUnavailable(detail: String)
    /// The user sent more requests than their budget allows; they may retry after this many seconds.
    case rateLimited(retryAfterSeconds: Int)

    /// A stable machine word naming the case, for clients to switch on.
    public var code: String {
        switch self {
        case .validationFailed: "validation_failed"
        case .malformedJSON: "malformed_json"
        case .notFound: "not_found"
        case .emailTaken: "email_taken"
        case .invalidCredentials: "invalid_credentials"
        case .unauthorized: "unauthorized"
        case .soldOut: "sold_out"
        case .userLimitReached: "user_limit_reached"
        case .insufficientStock: "insufficient_stock"
        case .insufficientCredits: "insufficient_credits"
        case .creditLimitExceeded: "credit_limit_exceeded"
        case .bidTooLow: "bid_too_low"
        case .auctionClosed: "auction_closed"
        case .ownItem: "own_item"
        case .holdExpired: "hold_expired"
        case .illegalTransition: "illegal_transition"
        case .skuTaken: "sku_taken"
        case .waitlistFull: "waitlist_full"
        case .idempotencyKeyReused: "idempotency_key_reused"
        case .overloaded: "overloaded"
        case .storeUnavailable: "store_unavailable"
        case .rateLimited: "rate_limited"
        }
    }

    /// A sentence for a person.
    public var detail: String {
        switch self {
        case .validationFailed(let field, let detail): "\(field): \(detail)"
        case .malformedJSON(let detail): "The request body is not valid JSON: \(detail)"
        case .notFound(let entity, let id): "No \(entity) with id \(id) exists."
        case .emailTaken: "An account with this email address already exists."
        case .invalidCredentials: "The email address or password is wrong."
        case .unauthorized(let detail): detail
        case .soldOut(let requested, let available):
            "Only \(available) seat\(available == 1 ? "" : "s") left; \(requested) requested."
        case .userLimitReached(let eventID, let limit, let held, let requested):
            "One person may have at most \(limit) seats of event \(eventID), held, booked or waited for; you have "
                + "\(held), and asked for \(requested) more."
        case .insufficientStock(let requested, let available):
            "Only \(available) unit\(available == 1 ? "" : "s") in stock; \(requested) requested."
        case .insufficientCredits(let requested, let balance):
            "The balance is \(balance) credit\(balance == 1 ? "" : "s"); \(requested) requested."
        case .creditLimitExceeded(let balance):
            "The balance is \(balance); a top-up may not take it past \(Limits.creditBalanceMax)."
        case .bidTooLow(let current, let minimumNext):
            if let current {
                "The current bid is \(current) cents; a new bid must be at least \(minimumNext) cents."
            } else {
                "The starting price is \(minimumNext) cents; the first bid must be at least that."
            }
        case .auctionClosed(let itemID): "Bidding on item \(itemID) has closed."
        case .ownItem(let itemID): "Item \(itemID) is yours: a seller may not bid on their own item."
        case .holdExpired(let bookingID):
            "The hold on booking \(bookingID) ran out before it was confirmed; its seats went back."
        case .illegalTransition(let entity, let id, let status, let action):
            "The \(entity) \(id) is \(status); it cannot be \(action) now."
        case .skuTaken(let sku): "A product with SKU \(sku) already exists."
        case .waitlistFull(let eventID):
            "Event \(eventID) is sold out and its waitlist is full (\(Limits.waitlistLengthMax) requests)."
        case .idempotencyKeyReused:
            "This Idempotency-Key was already used for a different request; use a new key for a new request."
        case .overloaded: "Too many writes are waiting; retry in a moment."
        case .storeUnavailable(let detail): "The store is unavailable: \(detail)"
        case .rateLimited(let seconds):
            "Too many requests; retry in \(seconds) s."
        }
    }
}
