import NIOCore
import NIOHTTP1
import NIOPosix
import TurnstileReport

/// One keep-alive HTTP/1.1 connection to the target, on NIO's own codecs, driven on its event loop.
///
/// A connection carries one request at a time (no pipelining), as a browser or a typical client does. Everything is
/// done on the channel's event loop: sending, timing and timeouts, with no task or lock per request. Methods marked
/// "on the event loop" must be called there; the executors that own connections run there.
public final class HTTPClientConnection: Sendable {
    /// How long to wait, and for what.
    public struct Timeouts: Sendable {
        /// Opening the TCP connection.
        public var connect: TimeAmount
        /// From sending a request to its last response byte.
        public var response: TimeAmount

        public init(connect: TimeAmount = .seconds(5), response: TimeAmount = .seconds(30)) {
            self.connect = connect
            self.response = response
        }
    }

    public let channel: any Channel
    let target: LoadTarget
    private let handler: NIOLoopBound<ResponseHandler>
    private let holdback: NIOLoopBound<LastByteHoldback>?

    public var eventLoop: any EventLoop { channel.eventLoop }

    private init(
        channel: any Channel, target: LoadTarget, handler: ResponseHandler, holdback: LastByteHoldback?
    ) {
        self.channel = channel
        self.target = target
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.holdback = holdback.map { NIOLoopBound($0, eventLoop: channel.eventLoop) }
    }

    /// Opens a connection on `eventLoop`. With `holdingLastByte`, every request's last byte waits for
    /// ``releaseHeldByte()``: the barrier executor's mode.
    public static func connect(
        to target: LoadTarget, on eventLoop: any EventLoop, timeouts: Timeouts = Timeouts(),
        holdingLastByte: Bool = false
    ) -> EventLoopFuture<HTTPClientConnection> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if holdingLastByte { try channel.pipeline.syncOperations.addHandler(LastByteHoldback()) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapErrorThrowing { error in throw LoadError(.connect, "\(error)") }
            .flatMapThrowing { channel in
                let sync = channel.pipeline.syncOperations
                return HTTPClientConnection(
                    channel: channel, target: target, handler: try sync.handler(type: ResponseHandler.self),
                    holdback: holdingLastByte ? try sync.handler(type: LastByteHoldback.self) : nil)
            }
    }

    /// Sends a request and completes with its response, or fails with a ``LoadError``. On the event loop.
    ///
    /// - Parameter keepBody: keep the response body (for read-backs); load traffic only counts its bytes.
    /// - Parameter written: completed once every byte of the request (but a held-back last one) is on the socket.
    public func send(
        _ request: LoadRequest, timeout: TimeAmount, keepBody: Bool = false, written: EventLoopPromise<Void>? = nil
    ) -> EventLoopFuture<LoadResponse> {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: LoadResponse.self)
        guard channel.isActive else {
            let closed = LoadError(.reset, "the connection is closed")
            written?.fail(closed)
            promise.fail(closed)
            return promise.futureResult
        }
        let channel = self.channel
        let timeoutTask = eventLoop.scheduleTask(in: timeout) { [handler] in
            handler.value.fail(LoadError(.timeout, "no complete response within \(timeout)"))
            channel.close(promise: nil)
        }
        handler.value.expect(promise, keepBody: keepBody, timeoutTask: timeoutTask)

        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: target.basePath + request.path)
        head.headers = request.headers
        head.headers.replaceOrAdd(name: "Host", value: target.hostHeader)
        head.headers.replaceOrAdd(name: "Content-Length", value: String(request.body?.readableBytes ?? 0))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body = request.body {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
        }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
        return promise.futureResult
    }

    /// Whether another request may be sent: the connection is open and the last response did not close it.
    /// On the event loop.
    public var isReusable: Bool {
        channel.isActive && handler.value.isKeepAlive
    }

    /// Lets the held last byte go and returns when it did. On the event loop.
    func releaseHeldByte() -> NIODeadline {
        channel.triggerUserOutboundEvent(LastByteHoldback.Release(), promise: nil)
        return releasedAt ?? .now()
    }

    /// When the held last byte went out, once released. On the event loop.
    var releasedAt: NIODeadline? { holdback?.value.releasedAt }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Gathers the response to the one request in flight and completes its promise; a connection that fails or closes
/// first fails it with the right kind of ``LoadError``.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var promise: EventLoopPromise<LoadResponse>?
    private var timeoutTask: Scheduled<Void>?
    private var keepBody = false
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var bodyByteCount = 0
    private(set) var isKeepAlive = true

    func expect(_ promise: EventLoopPromise<LoadResponse>, keepBody: Bool, timeoutTask: Scheduled<Void>) {
        precondition(self.promise == nil, "one request at a time per connection")
        self.promise = promise
        self.keepBody = keepBody
        self.timeoutTask = timeoutTask
        head = nil
        body = nil
        bodyByteCount = 0
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            isKeepAlive = head.isKeepAlive
        case .body(var buffer):
            bodyByteCount += buffer.readableBytes
            if keepBody {
                if body == nil { body = buffer } else { body!.writeBuffer(&buffer) }
            }
        case .end:
            guard let promise, let head else { return }
            self.promise = nil
            timeoutTask?.cancel()
            promise.succeed(
                LoadResponse(
                    status: Int(head.status.code), body: body ?? ByteBuffer(), bodyByteCount: bodyByteCount))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(Self.classify(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isKeepAlive = false
        fail(LoadError(.reset, "the connection closed before the response was complete"))
        context.fireChannelInactive()
    }

    func fail(_ error: LoadError) {
        guard let promise else { return }
        self.promise = nil
        timeoutTask?.cancel()
        promise.fail(error)
    }

    static func classify(_ error: any Error) -> LoadError {
        switch error {
        case let error as LoadError: error
        // The decoder reports a connection that ended mid-response this way: the peer closed, not misspoke.
        case HTTPParserError.invalidEOFState: LoadError(.reset, "the connection closed mid-response")
        case is HTTPParserError, is NIOHTTPDecoderError: LoadError(.protocol, "\(error)")
        default: LoadError(.reset, "\(error)")
        }
    }
}
