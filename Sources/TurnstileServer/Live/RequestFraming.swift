import HTTPTypes
import NIOCore
import NIOHTTP1
import TurnstileCore

/// What RFC 9112 asks of every request head, checked before Hummingbird sees the request: `CONNECT` (a tunnel this
/// service does not offer) is answered 405, and an HTTP/1.1 request without `Host` 400; both close the connection,
/// since the bytes after them cannot be trusted to be requests. It also tells the connection's ``RequestByteBudget``
/// where requests begin and end.
final class RequestHeadPolicy: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let budget: RequestByteBudget
    private var refused = false

    init(budget: RequestByteBudget) {
        self.budget = budget
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            budget.requestStarted()
            if head.method == .CONNECT {
                refuse(.connectNotAllowed, context: context)
                return
            }
            if head.version == .http1_1, !head.headers.contains(name: "host") {
                refuse(.missingHost, context: context)
                return
            }
        case .body: break
        case .end: budget.requestEnded()
        }
        context.fireChannelRead(data)
    }

    private func refuse(_ problem: Problem, context: ChannelHandlerContext) {
        refused = true
        problem.writeAndClose(context)
    }
}

/// Counts the bytes of the request being received, on the wire, before any parsing: a request may carry at most
/// ``Limits/requestBodyBytesMax`` of body plus ``RequestByteBudget/framingBytesMax`` of everything else (chunk sizes
/// and their extensions, trailers). Past that it is answered 413 and the connection closes, so a chunk extension of
/// hundreds of megabytes, which no parser keeps but every parser reads, costs the sender, not the service.
final class RequestByteBudget: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Room for chunk framing and trailers beyond the body's own limit: plenty for any sane chunking of a body at
    /// its limit (a chunk's size line and CRLFs are a few bytes), nothing like an extension of megabytes.
    static let framingBytesMax = 16 * 1024
    static let requestBytesMax = Limits.requestBodyBytesMax + framingBytesMax

    private var inRequest = false
    private var received = 0
    private var exhausted = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !exhausted else { return }
        if inRequest {
            received += unwrapInboundIn(data).readableBytes
            guard received <= Self.requestBytesMax else {
                // Nothing more of this connection reaches the parser; the answer goes out and the connection closes.
                exhausted = true
                writeTooLarge(context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    /// A request head was parsed: its body and framing count from here.
    func requestStarted() {
        inRequest = true
        received = 0
    }

    func requestEnded() {
        inRequest = false
    }

    /// The parser is mid-request, so the answer goes out as bytes, beneath it.
    private func writeTooLarge(_ context: ChannelHandlerContext) {
        let problem = Problem.payloadTooLarge
        guard var body = try? problem.body() else {
            context.close(promise: nil)
            return
        }
        let head = problem.closingHead(contentLength: body.readableBytes)
        var bytes = context.channel.allocator.buffer(capacity: 256 + body.readableBytes)
        bytes.writeString("HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n")
        for (name, value) in head.headers { bytes.writeString("\(name): \(value)\r\n") }
        bytes.writeString("\r\n")
        bytes.writeBuffer(&body)
        let closing = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(bytes)).whenComplete { _ in closing.value.close(promise: nil) }
    }
}

extension Problem {
    static let connectNotAllowed = Problem(
        status: .methodNotAllowed, code: "method_not_allowed", title: "Method not allowed",
        detail: "CONNECT is not offered here: this is an HTTP API, not a proxy.")

    static let missingHost = Problem(
        status: .badRequest, code: "bad_request", title: "Bad request",
        detail: "An HTTP/1.1 request needs a Host header (RFC 9112 §3.2).")

    /// The head of this problem's answer on a connection that closes after it.
    func closingHead(contentLength: Int) -> HTTPResponseHead {
        var fields = HTTPHeaders()
        for field in headers { fields.add(name: field.name.rawName, value: field.value) }
        fields.add(name: "Content-Length", value: String(contentLength))
        fields.add(name: "Connection", value: "close")
        return HTTPResponseHead(
            version: .http1_1, status: .init(statusCode: status.code, reasonPhrase: status.reasonPhrase),
            headers: fields)
    }

    /// Answers with this problem, on NIO's HTTP/1 types, and closes the connection once it is written.
    func writeAndClose(_ context: ChannelHandlerContext) {
        guard let body = try? body() else {
            context.close(promise: nil)
            return
        }
        let head = closingHead(contentLength: body.readableBytes)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        let closing = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            closing.value.close(promise: nil)
        }
    }
}
