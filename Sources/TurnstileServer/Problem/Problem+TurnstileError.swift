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
            case .userLimitReached: (.conflict, "Per-person limit reached")
            case .insufficientStock: (.conflict, "Insufficient stock")
            case .insufficientCredits:
                (HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"), "Insufficient credits")
            case .creditLimitExceeded: (.unprocessableContent, "Credit limit exceeded")
            case .bidTooLow: (.conflict, "Bid too low")
            case .auctionClosed: (.gone, "Auction closed")
            case .ownItem: (.conflict, "Own item")
            case .holdExpired: (.gone, "Hold expired")
            case .illegalTransition: (.conflict, "Illegal transition")
            case .skuTaken: (.conflict, "SKU taken")
            case .waitlistFull: (.conflict, "Waitlist full")
            case .idempotencyKeyReused: (.unprocessableContent, "Idempotency key reused")
            case .overloaded: (.serviceUnavailable, "Overloaded")
            case .storeUnavailable: (.serviceUnavailable, "Store unavailable")
            case .rateLimited: (.tooManyRequests, "Too many requests")
            }
        self.init(status: status, code: error.code, title: title, detail: error.detail)
        switch error {
        case .validationFailed(let field, _): self.field = field
        case .soldOut(let requested, let available), .insufficientStock(let requested, let available):
            self.requested = requested
            self.available = available
        case .userLimitReached(_, let limit, let held, let requested):
            self.requested = requested
            self.available = max(0, limit - held)
        case .insufficientCredits(let requested, let balance):
            self.requested = requested
            self.balance = balance
        case .creditLimitExceeded(let balance): self.balance = balance
        case .bidTooLow(let current, let minimumNext):
            currentBidCents = current
            minNextCents = minimumNext
        case .illegalTransition(_, _, let status, _): currentStatus = status
        case .overloaded, .storeUnavailable: retryAfterSeconds = Limits.retryAfterSeconds
        case .rateLimited(let seconds): retryAfterSeconds = seconds
        default: break
        }
    }
}
