import HTTPTypes
import NIOCore
import NIOHTTP1
import TurnstileCore

/// Answers a first request the HTTP decoder cannot parse (headers over the decoder's limits, bytes that are not
/// HTTP) with a problem, 431 or 400, and closes the connection.
///
/// Until a connection's first request is read, the upgrade handler holds the pipeline and nothing else would answer
/// or close it: the client would hang until the idle timeout. Later requests are Hummingbird's, which closes the
/// connection on a parse error. Removed with the `FirstRequestGuard` once the first request is negotiated.
final class ParseErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let problem: Problem =
            switch error {
            case .headerOverflow: .headersTooLarge
            default: .unparsableRequest
            }
        problem.writeAndClose(context)
    }
}

extension Problem {
    static let headersTooLarge = Problem(
        status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"), code: "headers_too_large",
        title: "Request header fields too large",
        detail: "The request's headers are larger than the service accepts.")

    static let unparsableRequest = Problem(
        status: .badRequest, code: "bad_request", title: "Bad request", detail: "The request is not valid HTTP/1.1.")
}
