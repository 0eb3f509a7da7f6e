import TurnstileCore

/// One write, as the store's single writer carries it out. Every write goes through the writer, so a batch's
/// transaction never interleaves with another write.
public enum WriteCommand: Sendable {
    case register(Registration, passwordHash: String)
    case createEvent(NewEvent, organizerID: Int64)
    case book(Claim)
    case cancelBooking(id: Int64, userID: Int64)
}

/// What one write produced.
public enum WriteOutput: Equatable, Sendable {
    case user(User)
    case event(Event)
    case booking(BookingOutcome)
    case cancelled(Booking)
}

/// A write's result: its output, or the operating error that refused it alone (the rest of its batch still commits).
public typealias WriteResult = Result<WriteOutput, TurnstileError>

extension WriteCommand {
    /// The account a write acts for, if any: it must exist when the batch is carried out.
    public var actingUserID: Int64? {
        switch self {
        case .register: nil
        case .createEvent(_, let organizerID): organizerID
        case .book(let claim): claim.userID
        case .cancelBooking(_, let userID): userID
        }
    }
}

extension TurnstileError {
    /// For a write on behalf of an account that does not exist (any more): its token outlived it.
    public static let accountGone = TurnstileError.unauthorized(
        detail: "The access token's account no longer exists; register or log in again.")
}

extension WriteResult {
    /// Translates the claim allocator's refusal decisions into the errors callers see.
    public static func refusal(_ decision: ClaimDecision, claim: Claim) -> WriteResult? {
        switch decision {
        case .granted, .replay: nil
        case .refused(let remaining): .failure(.soldOut(requested: claim.amount, available: remaining))
        case .unknownResource: .failure(.notFound(entity: "event", id: claim.resourceID))
        case .keyReused: .failure(.idempotencyKeyReused)
        }
    }
}
