import HTTPTypes
import Hummingbird
import TurnstileCore

extension Problem {
    /// The HTTP face of a domain error: this mapping is the only place that knows which status each case gets.
    public init(_ error: TurnstileError) {
        let (status, title): (HTTPResponse.Status, String) =
            switch error {
            case .validationFailed: (.unprocessableContent, "Validation failed")
            case .malformedJSON: (.badRequest, "Malformed JSON")
            case .notFound: (.notFound, "Not found")
            case .emailTaken: (.conflict, "Email taken")
            case .invalidCredentials: (.unauthorized, "Invalid credentials")
            case .unauthorized: (.unauthorized, "Unauthorized")
            case .soldOut: (.conflict, "Sold out")
            case .idempotencyKeyReused: (.unprocessableContent, "Idempotency key reused")
            case .overloaded: (.serviceUnavailable, "Overloaded")
            case .storeUnavailable: (.serviceUnavailable, "Store unavailable")
            }
        self.init(status: status, code: error.code, title: title, detail: error.detail)
        switch error {
        case .validationFailed(let field, _): self.field = field
        case .soldOut(let requested, let available):
            self.requested = requested
            self.available = available
        case .overloaded, .storeUnavailable: retryAfterSeconds = Limits.retryAfterSeconds
        default: break
        }
    }
}
