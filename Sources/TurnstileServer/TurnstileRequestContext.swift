import Foundation
import Hummingbird
import TurnstileCore

/// The request context of every Turnstile route: Hummingbird's core storage plus the authenticated user, which
/// ``BearerAuthMiddleware`` sets.
public struct TurnstileRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The user the bearer token names; nil on routes that need no authentication.
    public var userID: Int64?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        userID = nil
    }

    /// Bodies are read up to ``Limits/requestBodyBytesMax``; larger ones are answered 413.
    public var maxUploadSize: Int { Limits.requestBodyBytesMax }

    public var responseEncoder: JSONEncoder { JSONCoding.encoder }

    /// The authenticated user; a route that calls this must sit behind ``BearerAuthMiddleware``.
    func requireUserID() throws(TurnstileError) -> Int64 {
        guard let userID else { throw .unauthorized(detail: "This endpoint needs a bearer token.") }
        return userID
    }
}
