import Hummingbird
import TurnstileCore

/// Answers 429 `rate_limited` with `Retry-After` once the authenticated user has spent their budget (see
/// ``RateLimit``); sits behind ``BearerAuthMiddleware``, which names the user.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let limiter: RateLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let retryAfter = limiter.admit(try context.requireUserID()) {
            throw TurnstileError.rateLimited(retryAfterSeconds: retryAfter)
        }
        return try await next(request, context)
    }
}
