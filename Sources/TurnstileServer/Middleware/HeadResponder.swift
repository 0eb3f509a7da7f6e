import HTTPTypes
import Hummingbird

/// Answers `HEAD` on every `GET` route as RFC 9110 §9.3.2 asks: the same status and headers, `Content-Length`
/// included, without the body. It wraps the router's responder rather than sitting in it as middleware, because the
/// router picks a route by method before its middleware runs.
struct HeadResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == TurnstileRequestContext {
    typealias Context = TurnstileRequestContext

    let base: Base

    func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await base.respond(to: Request(head: head, body: request.body), context: context)
        // The body's length is declared and nothing of it written.
        response.body = ResponseBody(contentLength: response.body.contentLength) { _ in }
        return response
    }
}
