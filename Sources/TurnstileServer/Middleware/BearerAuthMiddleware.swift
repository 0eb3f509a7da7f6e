import Hummingbird
import TurnstileCore
import TurnstileStore

/// Requires `Authorization: Bearer <token>` with a valid access token for an account that exists, and puts its
/// user in the context; anything else is answered 401 before the route runs. An account is looked up in the store
/// once (login already vouches for the accounts it issues tokens to), then remembered.
struct BearerAuthMiddleware<Store: TurnstileStore>: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let tokens: TokenAuthority
    let store: Store

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
        let userID = try tokens.verify(String(parts[1]))
        if !tokens.knownUsers.contains(userID) {
            guard try await store.user(id: userID) != nil else {
                throw TurnstileError.unauthorized(detail: "The access token names an account that does not exist.")
            }
            tokens.knownUsers.insert(userID)
        }
        context.userID = userID
        return try await next(request, context)
    }
}
