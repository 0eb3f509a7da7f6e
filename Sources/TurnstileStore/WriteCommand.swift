import Foundation
import TurnstileCore

/// One write, as the store's single writer carries it out. Every write goes through the writer, so a batch's
/// transaction never interleaves with another write.
public enum WriteCommand: Sendable {
    case register(Registration, passwordHash: String)
    case createEvent(NewEvent, organizerID: Int64)
    case book(BookingRequest)
    case cancelBooking(id: Int64, userID: Int64)
    case confirmBooking(id: Int64, userID: Int64)
    /// Releases every hold that ran out (up to ``Limits/holdSweepBookingsMax``): the periodic sweep.
    case expireHolds
    case createProduct(NewProduct, userID: Int64)
    case placeOrder(OrderRequest)
    case advanceOrder(id: Int64, userID: Int64, action: OrderAction)
    case topUp(TopUpRequest)
    case deduct(DeductionRequest)
    case createItem(NewItem, sellerID: Int64)
    case bid(BidRequest)
}

/// What one write produced.
public enum WriteOutput: Equatable, Sendable {
    case user(User)
    case event(Event)
    case booking(BookingOutcome)
    /// A booking after a cancellation or confirmation.
    case bookingChanged(Booking)
    case holdsExpired(count: Int)
    case product(Product)
    case order(Order, replayed: Bool)
    case ledgerEntry(LedgerEntry, CreditAccount, replayed: Bool)
    case item(Item)
    case bid(Bid, Item)

    /// The same output, as the answer to a replay of the write that produced it.
    var replayed: WriteOutput {
        switch self {
        case .booking(.created(let booking)): .booking(.replayed(booking))
        case .order(let order, _): .order(order, replayed: true)
        case .ledgerEntry(let entry, let account, _): .ledgerEntry(entry, account, replayed: true)
        default: preconditionFailure("only grants of claims are replayed")
        }
    }
}

/// A write's result: its output, or the operating error that refused it alone (the rest of its batch still commits).
public typealias WriteResult = Result<WriteOutput, TurnstileError>

extension WriteCommand {
    /// The account a write acts for, if any: it must exist when the batch is carried out.
    public var actingUserID: Int64? {
        switch self {
        case .register, .expireHolds: nil
        case .createEvent(_, let userID), .cancelBooking(_, let userID), .confirmBooking(_, let userID),
            .createProduct(_, let userID), .advanceOrder(_, let userID, _), .createItem(_, let userID):
            userID
        case .book(let request): request.claim.userID
        case .placeOrder(let request): request.claim.userID
        case .topUp(let request): request.userID
        case .deduct(let request): request.claim.userID
        case .bid(let request): request.bidderID
        }
    }

    /// The claim this write makes on a scarce resource, if it makes one.
    public var claim: Claim? {
        switch self {
        case .book(let request): request.claim
        case .placeOrder(let request): request.claim
        case .deduct(let request): request.claim
        default: nil
        }
    }
}

extension TurnstileError {
    /// For a write on behalf of an account that does not exist (any more): its token outlived it.
    public static let accountGone = TurnstileError.unauthorized(
        detail: "The access token's account no longer exists; register or log in again.")
}

extension WriteResult {
    /// Translates the claim allocator's refusal decisions into the errors callers see, by kind of resource.
    public static func refusal(_ decision: ClaimDecision, claim: Claim) -> WriteResult? {
        switch decision {
        case .granted, .replay: nil
        case .refused(let remaining):
            switch claim.resource {
            case .seats: .failure(.soldOut(requested: claim.amount, available: remaining))
            case .stock: .failure(.insufficientStock(requested: claim.amount, available: remaining))
            case .credits: .failure(.insufficientCredits(requested: claim.amount, balance: remaining))
            }
        case .unknownResource: .failure(.notFound(entity: claim.resource.entity, id: claim.resource.id))
        case .keyReused: .failure(.idempotencyKeyReused)
        }
    }
}

extension ResourceKey {
    /// What a missing resource of this kind is called in a not-found error.
    var entity: String {
        switch self {
        case .seats: "event"
        case .stock: "product"
        case .credits: "account"
        }
    }
}
