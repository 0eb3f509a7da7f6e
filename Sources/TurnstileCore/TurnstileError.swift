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
    /// An idempotency key was reused for a different request.
    case idempotencyKeyReused
    /// The writer's queue is full; the caller should retry shortly.
    case overloaded
    /// The store cannot be reached or failed; the caller should retry shortly.
    case storeUnavailable(detail: String)

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
        case .idempotencyKeyReused: "idempotency_key_reused"
        case .overloaded: "overloaded"
        case .storeUnavailable: "store_unavailable"
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
        case .idempotencyKeyReused:
            "This Idempotency-Key was already used for a different request; use a new key for a new request."
        case .overloaded: "Too many writes are waiting; retry in a moment."
        case .storeUnavailable(let detail): "The store is unavailable: \(detail)"
        }
    }
}
