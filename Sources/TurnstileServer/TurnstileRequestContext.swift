import Foundation
import Hummingbird
import NIOCore
import TurnstileCore

/// The request context of every Turnstile route: Hummingbird's core storage plus the authenticated user, which
/// ``BearerAuthMiddleware`` sets.
public struct TurnstileRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The user the bearer token names; nil on routes that need no authentication.
    public var userID: Int64?
    /// The peer of the connection: the client, or the proxy in front of it.
    public let remoteAddress: SocketAddress?
    /// Whether the request came as an HTTP/2 stream: its channel's parent is the connection, whose parent is the
    /// listener (an HTTP/1.1 request's channel is the connection itself).
    let isHTTP2Stream: Bool
    /// The event loop of the request's channel, which keeps its body's deadline.
    let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        userID = nil
        remoteAddress = source.channel.remoteAddress
        isHTTP2Stream = source.channel.parent?.parent != nil
        eventLoop = source.channel.eventLoop
    }

    /// The client's address, for per-client limits: the connection's peer, or, behind a trusted proxy, the last
    /// address of `X-Forwarded-For` (the one that proxy added; earlier ones are the client's to forge).
    func clientAddress(of request: Request, trustForwardedFor: Bool) -> String {
        if trustForwardedFor, let forwarded = request.headers[.init("X-Forwarded-For")!],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return last
        }
        return remoteAddress?.ipAddress ?? "unknown"
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
