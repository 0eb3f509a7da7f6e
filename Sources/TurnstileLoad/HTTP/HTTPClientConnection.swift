import Foundation
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
        /// The longest silence while a response is awaited: from sending, and between its bytes.
        public var read: TimeAmount
        /// From sending a request to its last response byte, in all.
        public var response: TimeAmount

        public init(
            connect: TimeAmount = .seconds(5), read: TimeAmount = .seconds(10), response: TimeAmount = .seconds(30)
        ) {
            self.connect = connect
            self.read = read
            self.response = response
        }
    }

    public let channel: any Channel
    let target: LoadTarget
    /// How long opening it took: TCP, then the TLS handshake on https. Set-up, not any request's latency.
    public let setup: (connect: TimeAmount, tls: TimeAmount?)
    private let handler: NIOLoopBound<ResponseHandler>
    private let holdback: NIOLoopBound<ReleaseHoldback>?
    /// Requests already encoded for this connection's target, by request identity: bounded, emptied when full.
    private let encoded: NIOLoopBoundBox<[Int: PreEncodedRequest]>
    private let writer: NIOLoopBound<PreEncodedRequestWriter>
    private static let requestsEncodedRememberedMax = LoadLimits.requestsEncodedRememberedMax

    public var eventLoop: any EventLoop { channel.eventLoop }

    private init(
        channel: any Channel, target: LoadTarget, setup: (connect: TimeAmount, tls: TimeAmount?),
        handler: ResponseHandler, writer: PreEncodedRequestWriter, holdback: ReleaseHoldback?
    ) {
        self.channel = channel
        self.target = target
        self.setup = setup
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.holdback = holdback.map { NIOLoopBound($0, eventLoop: channel.eventLoop) }
        encoded = NIOLoopBoundBox([:], eventLoop: channel.eventLoop)
        self.writer = NIOLoopBound(writer, eventLoop: channel.eventLoop)
    }

    /// Opens a connection on `eventLoop`. With `holdingRequestEnd`, the end of every request (its head's final CRLF
    /// and its body) waits for ``releaseHeldBytes()``: the barrier executor's mode.
    public static func connect(
        to target: LoadTarget, on eventLoop: any EventLoop, timeouts: Timeouts = Timeouts(),
        holdingRequestEnd: Bool = false
    ) -> EventLoopFuture<HTTPClientConnection> {
        // Over TLS, the connection is ready once its handshake is done: the handshake is set-up, not a request's
        // latency.
        let handshake = target.tls.map { _ in eventLoop.makePromise(of: Void.self) }
        _ = handlerTypesReady  // before the first connection: see its comment
        let started = NIODeadline.now()
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try target.tls?.add(to: channel, handshake: handshake)
                    if holdingRequestEnd { try channel.pipeline.syncOperations.addHandler(ReleaseHoldback()) }
                    // Requests are encoded once per connection (see `PreEncodedRequestWriter`); NIO's decoder still
                    // sees each request head go by, as it must to parse the response that answers it.
                    try channel.pipeline.syncOperations.addHandler(PreEncodedRequestWriter())
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapErrorThrowing { error in
                handshake?.fail(error)
                throw LoadError(.connect, describeConnectError(error))
            }
            .flatMap { channel in
                let connected = NIODeadline.now()
                let tcp = connected - started
                guard let handshake else { return channel.eventLoop.makeSucceededFuture((channel, (tcp, nil))) }
                let timer = channel.eventLoop.scheduleTask(in: timeouts.connect) {
                    handshake.fail(LoadError(.tls, "no TLS handshake within \(timeouts.connect)"))
                }
                return handshake.futureResult.map { (channel, (tcp, NIODeadline.now() - connected)) }
                    .always { _ in timer.cancel() }
                    .flatMapErrorThrowing { error in
                        channel.close(promise: nil)
                        throw error
                    }
            }
            .flatMapThrowing { (channel: any Channel, setup: (connect: TimeAmount, tls: TimeAmount?)) in
                let sync = channel.pipeline.syncOperations
                return HTTPClientConnection(
                    channel: channel, target: target, setup: setup,
                    handler: try sync.handler(type: ResponseHandler.self),
                    writer: try sync.handler(type: PreEncodedRequestWriter.self),
                    holdback: holdingRequestEnd ? try sync.handler(type: ReleaseHoldback.self) : nil)
            }
    }

    /// Adds how long this connection took to open to `connect`, and its TLS handshake to `tls`.
    func recordSetup(connect: inout LatencyHistogram, tls: inout LatencyHistogram) {
        connect.record(microseconds: UInt64(max(0, setup.connect.nanoseconds / 1_000)))
        if let time = setup.tls { tls.record(microseconds: UInt64(max(0, time.nanoseconds / 1_000))) }
    }

    /// The pipeline's handler types, made once before any connection is: the first connections of a run open on
    /// every event loop at once, and so made the generic `ByteToMessageHandler<HTTPResponseDecoder>` for the first
    /// time on several threads at once, which crashed the Swift 6.3 runtime now and then (a null metadata pointer in
    /// `swift_checkMetadataState`, seen in a core dump of `stress run`). A `static let` runs once, under a lock.
    private static let handlerTypesReady: Bool = {
        _ = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes))
        _ = (PreEncodedRequestWriter(), ResponseHandler(), ReleaseHoldback())
        return true
    }()

    /// Sends a request and completes with its response, or fails with a ``LoadError``. On the event loop.
    ///
    /// - Parameter keepBody: keep the response body (for read-backs); load traffic only counts its bytes.
    /// - Parameter written: completed once every byte of the request (but the held-back end) is on the socket.
    public func send(
        _ request: LoadRequest, timeouts: Timeouts, keepBody: Bool = false, written: EventLoopPromise<Void>? = nil
    ) -> EventLoopFuture<LoadResponse> {
        let promise = eventLoop.makePromise(of: LoadResponse.self)
        send(request, timeouts: timeouts, keepBody: keepBody, written: written) { result in
            switch result {
            case .success(let response): promise.succeed(response)
            case .failure(let error): promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Sends a request and calls `completion` on the event loop with its response or error: the executors' path,
    /// with no promise, future or timer allocated per request (timeouts are swept, see ``ResponseHandler``).
    /// On the event loop.
    func send(
        _ request: LoadRequest, timeouts: Timeouts, keepBody: Bool = false, written: EventLoopPromise<Void>? = nil,
        completion: @escaping (Result<LoadResponse, LoadError>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        guard channel.isActive else {
            let closed = LoadError(.reset, "the connection is closed")
            written?.fail(closed)
            completion(.failure(closed))
            return
        }
        handler.value.expect(completion, keepBody: keepBody, timeouts: timeouts)

        let prepared: PreEncodedRequest
        if request.isSentOnce {
            prepared = PreEncodedRequest(request, for: target, allocator: channel.allocator)
        } else if let known = encoded.value[request.id] {
            prepared = known
        } else {
            prepared = PreEncodedRequest(request, for: target, allocator: channel.allocator)
            if encoded.value.count >= Self.requestsEncodedRememberedMax {
                encoded.value.removeAll(keepingCapacity: true)
            }
            encoded.value[request.id] = prepared
        }
        writer.value.nextRequestBytes = prepared.bytes
        channel.write(HTTPClientRequestPart.head(prepared.head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
    }

    /// Whether another request may be sent: the connection is open and the last response did not close it.
    /// On the event loop.
    public var isReusable: Bool {
        channel.isActive && handler.value.isKeepAlive
    }

    /// Lets the held end of the request go and returns when it did. On the event loop.
    public func releaseHeldBytes() -> NIODeadline {
        // The request's clocks start now: until its end went out, the server could not answer it.
        handler.value.restartClocks()
        channel.triggerUserOutboundEvent(ReleaseHoldback.Release(), promise: nil)
        return releasedAt ?? .now()
    }

    /// When the held end of the request went out, once released. On the event loop.
    var releasedAt: NIODeadline? { holdback?.value.releasedAt }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Gathers the response to the one request in flight and hands it to its completion; a connection that fails,
/// closes or outlasts the deadline first fails it with the right kind of ``LoadError``.
///
/// Deadlines are checked by one repeating sweep per connection rather than a timer per request: a timeout fires at
/// most ``sweepInterval`` late, and sending a request allocates no timer.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias Completion = (Result<LoadResponse, LoadError>) -> Void

    static let sweepInterval = LoadLimits.deadlineSweepInterval

    private var completion: Completion?
    private var deadline = NIODeadline.distantFuture
    private var lastProgress = NIODeadline.distantFuture
    private var timeouts = HTTPClientConnection.Timeouts()
    private var keepBody = false
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var bodyByteCount = 0
    private var sweep: RepeatedTask?
    private var context: ChannelHandlerContext?
    private(set) var isKeepAlive = true

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweep = context.eventLoop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) {
            _ in
            bound.value.checkDeadline()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweep?.cancel()
        sweep = nil
        self.context = nil
    }

    func expect(_ completion: @escaping Completion, keepBody: Bool, timeouts: HTTPClientConnection.Timeouts) {
        precondition(self.completion == nil, "one request at a time per connection")
        let now = context?.eventLoop.now ?? .now()
        self.completion = completion
        self.keepBody = keepBody
        self.timeouts = timeouts
        deadline = now + timeouts.response
        lastProgress = now
        head = nil
        body = nil
        bodyByteCount = 0
    }

    /// Starts the awaited response's timeouts afresh (a barrier's request is released long after it was written).
    func restartClocks() {
        guard completion != nil, let now = context?.eventLoop.now else { return }
        deadline = now + timeouts.response
        lastProgress = now
    }

    private func checkDeadline() {
        guard completion != nil, let now = context?.eventLoop.now else { return }
        if now >= deadline {
            fail(LoadError(.timeout, "no complete response within \(timeouts.response)"))
        } else if now - lastProgress >= timeouts.read {
            fail(LoadError(.timeout, "nothing received for \(timeouts.read)"))
        } else {
            return
        }
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastProgress = context.eventLoop.now
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
            guard let completion, let head else { return }
            self.completion = nil
            completion(
                .success(
                    LoadResponse(
                        status: Int(head.status.code), headers: head.headers, body: body ?? ByteBuffer(),
                        bodyByteCount: bodyByteCount)))
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
        guard let completion else { return }
        self.completion = nil
        completion(.failure(error))
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

/// A failed connect in a few words (`connection refused`, `timed out after 5 s`), not NIO's full error value.
func describeConnectError(_ error: any Error) -> String {
    switch error {
    case let error as NIOConnectionError:
        if let first = error.connectionErrors.first { return describeConnectError(first.error) }
        if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
        return "cannot connect to \(error.host):\(error.port)"
    case let error as IOError:
        return String(cString: strerror(error.errnoCode)).lowercased()
    case ChannelError.connectTimeout(let time):
        return "no connection within \(Double(time.nanoseconds) / 1e9) s"
    default:
        return "\(error)"
    }
}
