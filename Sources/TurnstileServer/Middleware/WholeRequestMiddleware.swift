import Hummingbird
import TurnstileCore

/// Routes a request only once all of it has arrived.
///
/// Over HTTP/2 a request's headers come in a frame of their own, before its body and the frame that ends its stream,
/// and Hummingbird routes on the headers: a route that ignores its body (`POST /orders/{id}/pay`) would answer a
/// request that is not complete yet. A client racing requests (the single-packet race, which holds back every
/// stream's last frame) relies on no server doing that, and so does anyone who reads "request received" as "request
/// complete". HTTP/1.1 requests pass as they are: one without a body is complete with its head, and a route with one
/// reads it anyway. The body is read as every route reads one: within ``Limits/requestBodySecondsMax`` (408 after),
/// at most ``Limits/requestBodyBytesMax`` bytes (413 beyond).
struct WholeRequestMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard context.isHTTP2Stream else { return try await next(request, context) }
        var request = request
        request.body = RequestBody(
            buffer: try await Request.collect(
                request.body, within: .seconds(Limits.requestBodySecondsMax), on: context.eventLoop))
        return try await next(request, context)
    }
}
