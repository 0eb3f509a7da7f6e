import Hummingbird
import TurnstileCore

/// Requires `Authorization: Bearer <token>` with a valid access token and puts its user in the context; anything
/// else is answered 401 before the route runs.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let tokens: TokenAuthority

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization] else {
            throw TurnstileError.unauthorized(detail: "Send an access token as 'Authorization: Bearer <token>'.")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw TurnstileError.unauthorized(detail: "The Authorization header must use the Bearer scheme.")
        }
        var context = context
        context.userID = try tokens.verify(String(parts[1]))
        return try await next(request, context)
    }
}
