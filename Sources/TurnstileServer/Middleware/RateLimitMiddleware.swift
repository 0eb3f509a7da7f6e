import Hummingbird
import TurnstileCore

/// Answers 429 `rate_limited` with `Retry-After` once the authenticated user has spent their budget (see
/// ``RateLimit``); sits behind ``BearerAuthMiddleware``, which names the user.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let limiter: RateLimiter<Int64>

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let retryAfter = limiter.admit(try context.requireUserID()) {
            throw TurnstileError.rateLimited(retryAfterSeconds: retryAfter)
        }
        return try await next(request, context)
    }
}

/// Answers 429 `rate_limited` with `Retry-After` once a client address has spent its budget for anonymous requests
/// (sign-ups and logins, and public reads when a budget is set for them): the budget that no account, however many
/// a client makes, can multiply.
struct ClientRateLimitMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let limiter: RateLimiter<String>
    /// Whether the client is the last address in `X-Forwarded-For` (set by a proxy in front), rather than the peer.
    let trustForwardedFor: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let retryAfter = limiter.admit(context.clientAddress(of: request, trustForwardedFor: trustForwardedFor)) {
            throw TurnstileError.rateLimited(retryAfterSeconds: retryAfter)
        }
        return try await next(request, context)
    }
}
