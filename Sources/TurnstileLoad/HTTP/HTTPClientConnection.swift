import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import TurnstileReport

/// One keep-alive connection to the target, HTTP/1.1 or HTTP/2, on NIO's own codecs, driven on its event loop.
///
/// On HTTP/1.1 a connection carries one request at a time (no pipelining), as a browser or a typical client does. On
/// HTTP/2 each request is a stream of its own (``HTTP2Streams``), so several may be in flight at once. Everything is
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

    /// How a connection speaks, once its version is agreed.
    private enum Transport {
        case http1(ResponseHandler, ReleaseHoldback?)
        case http2(HTTP2Streams)
    }

    public let channel: any Channel
    let target: LoadTarget
    /// How long opening it took: TCP, then the TLS handshake on https. Set-up, not any request's latency.
    public let setup: (connect: TimeAmount, tls: TimeAmount?)
    /// Whether the connection speaks HTTP/2, and so carries several requests at once.
    public let isMultiplexed: Bool
    private let transport: NIOLoopBound<Transport>
    /// Requests already encoded for this connection's target.
    private let encoded: NIOLoopBoundBox<RequestBuilds<PreEncodedRequest>>

    public var eventLoop: any EventLoop { channel.eventLoop }

    private init(
        channel: any Channel, target: LoadTarget, setup: (connect: TimeAmount, tls: TimeAmount?), transport: Transport
    ) {
        self.channel = channel
        self.target = target
        self.setup = setup
        if case .http2 = transport { isMultiplexed = true } else { isMultiplexed = false }
        self.transport = NIOLoopBound(transport, eventLoop: channel.eventLoop)
        encoded = NIOLoopBoundBox(RequestBuilds(), eventLoop: channel.eventLoop)
    }

    /// What the pipeline was set up to speak.
    private enum Negotiated: Sendable {
        case http1
        case http2(settled: EventLoopFuture<Void>)
    }

    /// Opens a connection on `eventLoop`, in the HTTP version the target's ``HTTPOptions`` ask for: on `https://`
    /// as agreed in the TLS handshake (ALPN), on `http://` HTTP/1.1, or HTTP/2 with prior knowledge when asked.
    ///
    /// With `holdingRequestEnd`, the end of every request waits for ``releaseHeldBytes()``: the barrier executor's
    /// mode. On HTTP/1.1 that is its head's final CRLF and its body; on HTTP/2, the frame that ends its stream.
    public static func connect(
        to target: LoadTarget, on eventLoop: any EventLoop, timeouts: Timeouts = Timeouts(),
        holdingRequestEnd: Bool = false
    ) -> EventLoopFuture<HTTPClientConnection> {
        // Over TLS, the connection is ready once its handshake is done: the handshake is set-up, not a request's
        // latency.
        let handshake = target.tls.map { _ in eventLoop.makePromise(of: Void.self) }
        let negotiated = eventLoop.makePromise(of: Negotiated.self)
        // On HTTP/2, the server's first settings have arrived.
        let preface = eventLoop.makePromise(of: Void.self)
        _ = handlerTypesReady  // before the first connection: see its comment
        let started = NIODeadline.now()
        return ClientBootstrap(group: eventLoop).from(target.sources)
            .connectTimeout(timeouts.connect)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let tls = target.tls else {
                        negotiated.succeed(
                            try configure(
                                channel, target: target, http2: target.http.version == .http2,
                                holding: holdingRequestEnd))
                        return
                    }
                    try tls.add(to: channel, offering: .requests, handshake: handshake)
                    let alpn = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
                        channel.eventLoop.makeCompletedFuture {
                            let http2 = result == .negotiated("h2")
                            if target.http.version == .http2, !http2 {
                                throw LoadError(.protocol, "the server did not agree to HTTP/2 in the TLS handshake")
                            }
                            return try configure(channel, target: target, http2: http2, holding: holdingRequestEnd)
                        }
                    }
                    try channel.pipeline.syncOperations.addHandler(alpn)
                    negotiated.completeWith(alpn.protocolNegotiationResult)
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapErrorThrowing { error in
                handshake?.fail(error)
                negotiated.fail(error)
                preface.fail(error)
                throw LoadError(.connect, describeConnectError(error))
            }
            .flatMap { channel in
                let connected = NIODeadline.now()
                let tcp = connected - started
                // TLS, then the HTTP/2 preface: the server's first settings say how many streams it takes at once.
                let timer = channel.eventLoop.scheduleTask(in: timeouts.connect) {
                    handshake?.fail(LoadError(.tls, "no TLS handshake within \(timeouts.connect)"))
                    negotiated.fail(LoadError(.protocol, "no protocol agreed within \(timeouts.connect)"))
                    preface.fail(LoadError(.protocol, "no HTTP/2 settings from the server within \(timeouts.connect)"))
                }
                let secured: EventLoopFuture<TimeAmount?> =
                    handshake.map { $0.futureResult.map { NIODeadline.now() - connected } }
                    ?? channel.eventLoop.makeSucceededFuture(nil)
                return secured.flatMap { tls in
                    negotiated.futureResult.flatMap { negotiated -> EventLoopFuture<Negotiated> in
                        if case .http2(let settled) = negotiated {
                            preface.completeWith(settled)
                        } else {
                            preface.succeed()
                        }
                        return preface.futureResult.map { negotiated }
                    }.flatMapThrowing { negotiated in
                        try HTTPClientConnection(
                            channel: channel, target: target, setup: (tcp, tls),
                            transport: transport(of: channel, negotiated, holding: holdingRequestEnd))
                    }
                }
                .always { _ in timer.cancel() }
                .flatMapErrorThrowing { error in
                    // Whatever failed first, nothing waits for the rest.
                    negotiated.fail(error)
                    preface.fail(error)
                    channel.close(promise: nil)
                    throw error is LoadError ? error : LoadError(.protocol, "\(error)")
                }
            }
    }

    /// Sets `channel`'s pipeline up for the version agreed. On its event loop.
    private static func configure(
        _ channel: any Channel, target: LoadTarget, http2: Bool, holding: Bool
    ) throws -> Negotiated {
        let sync = channel.pipeline.syncOperations
        guard http2 else {
            // Requests go out as bytes encoded once per connection (`PreEncodedRequest`); answers are read by one
            // handler, with the engine's own parser.
            if holding { try sync.addHandler(ReleaseHoldback()) }
            try sync.addHandler(ResponseHandler(answerBytesKeptMax: target.http.answerBytesKeptMax))
            return .http1
        }
        // The gate sits below the HTTP/2 handler, nearer the socket, so it sees the frames as bytes.
        let gate = holding ? ReleaseGate() : nil
        if let gate { try sync.addHandler(gate) }
        // NIO's check of every header block's field syntax (lower-case names, no connection headers) cost a tenth of
        // the engine's CPU per request; a load generator measures, and what it needs stays checked: HPACK decoding
        // still refuses a malformed block, a response without `:status` is a protocol error, and every body's length
        // is held to its `content-length`.
        try sync.addHandler(NIOHTTP2Handler(mode: .client, headerBlockValidation: .disabled))
        let settled = channel.eventLoop.makePromise(of: Void.self)
        try sync.addHandler(
            HTTP2Streams(
                secure: channel.pipeline.isTLS, gate: gate, settled: settled,
                answerBytesKeptMax: target.http.answerBytesKeptMax))
        return .http2(settled: settled.futureResult)
    }

    /// The connection's transport, from its pipeline's handlers. On its event loop.
    private static func transport(of channel: any Channel, _ negotiated: Negotiated, holding: Bool) throws -> Transport
    {
        let sync = channel.pipeline.syncOperations
        switch negotiated {
        case .http1:
            return .http1(
                try sync.handler(type: ResponseHandler.self),
                holding ? try sync.handler(type: ReleaseHoldback.self) : nil)
        case .http2:
            return .http2(try sync.handler(type: HTTP2Streams.self))
        }
    }

    /// The HTTP version spoken, as the report names it: "1.1" or "2".
    public var httpVersion: String { isMultiplexed ? "2" : "1.1" }

    /// Adds how long this connection took to open to `connect`, its TLS handshake to `tls`, and counts its version.
    func recordSetup(
        connect: inout LatencyHistogram, tls: inout LatencyHistogram, versions: inout [String: UInt64]
    ) {
        connect.record(microseconds: UInt64(max(0, setup.connect.nanoseconds / 1_000)))
        if let time = setup.tls { tls.record(microseconds: UInt64(max(0, time.nanoseconds / 1_000))) }
        versions[httpVersion, default: 0] += 1
    }

    /// The pipeline's handler types, made once before any connection is: the first connections of a run open on
    /// every event loop at once, and so made generic handler types (NIO's `ByteToMessageHandler<HTTPResponseDecoder>`,
    /// when the engine used it) for the first time on several threads at once, which crashed the Swift 6.3 runtime
    /// now and then (a null metadata pointer in `swift_checkMetadataState`, seen in a core dump of `stress run`). A
    /// `static let` runs once, under a lock.
    private static let handlerTypesReady: Bool = {
        _ = (ResponseHandler(), ReleaseHoldback(), ReleaseGate())
        _ = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { _, channel in
            channel.eventLoop.makeSucceededFuture(.http1)
        }
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
    /// The body is also kept when the request's outcomes or its published event read it. On the event loop.
    func send(
        _ request: LoadRequest, timeouts: Timeouts, keepBody: Bool = false, written: EventLoopPromise<Void>? = nil,
        completion: @escaping (Result<LoadResponse, LoadError>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        let keepBody = keepBody || request.readsAnswer
        guard channel.isActive else {
            let closed = LoadError(.reset, "the connection is closed")
            written?.fail(closed)
            completion(.failure(closed))
            return
        }
        let handler: ResponseHandler
        switch transport.value {
        case .http2(let streams):
            streams.send(
                request, to: target, timeouts: timeouts, keepBody: keepBody, written: written, completion: completion)
            return
        case .http1(let http1Handler, _):
            http1Handler.expect(completion, keepBody: keepBody, timeouts: timeouts, isHead: request.method == .HEAD)
            handler = http1Handler
        }

        let (target, allocator) = (self.target, channel.allocator)
        let prepared = encoded.value.value(for: request) {
            PreEncodedRequest(request, for: target, allocator: allocator)
        }
        // The handler takes no answer until the request is on the socket: one that comes sooner was not an answer
        // to it (a target that answers before it has read the request, or answers one request twice).
        let ended = eventLoop.makePromise(of: Void.self)
        ended.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result { handler.requestWritten() }
            written?.completeWith(result)
        }
        channel.writeAndFlush(prepared.bytes, promise: ended)
    }

    /// Whether another request may be sent: the connection is open, and the last response did not close it
    /// (HTTP/1.1) or the server did not say it goes away (HTTP/2). On the event loop.
    public var isReusable: Bool {
        guard channel.isActive else { return false }
        switch transport.value {
        case .http1(let handler, _): return handler.isKeepAlive
        case .http2(let streams): return !streams.isGoingAway
        }
    }

    /// How many requests the connection may carry at once: one on HTTP/1.1; on HTTP/2, what the server allows. On
    /// the event loop.
    public var requestsMax: Int {
        switch transport.value {
        case .http1: 1
        case .http2(let streams): streams.streamsMax
        }
    }

    /// Gets the held ends of the requests ready to go, so that ``releaseHeldBytes()`` only has to hand them to the
    /// socket: on HTTP/2 every stream's end frame is written into the connection's closed gate. On the event loop.
    public func prepareRelease() {
        if case .http2(let streams) = transport.value { streams.prepareRelease() }
    }

    /// Lets the held ends of the requests go and returns when they did. On the event loop.
    public func releaseHeldBytes() -> NIODeadline {
        switch transport.value {
        case .http1(let handler, let holdback):
            // The request's clocks start now: until its end went out, the server could not answer it.
            handler.restartClocks()
            channel.triggerUserOutboundEvent(ReleaseHoldback.Release(), promise: nil)
            return holdback?.releasedAt ?? .now()
        case .http2(let streams):
            return streams.releaseHeldEnds()
        }
    }

    /// When the held ends of the requests went out, once released. On the event loop.
    var releasedAt: NIODeadline? {
        switch transport.value {
        case .http1(_, let holdback): holdback?.releasedAt
        case .http2(let streams): streams.releasedAt
        }
    }

    /// How many bytes the release handed to the socket. On the event loop.
    var releasedByteCount: Int {
        switch transport.value {
        case .http1(_, let holdback): holdback?.releasedByteCount ?? 0
        case .http2(let streams): streams.releasedByteCount
        }
    }

    public func close() {
        channel.close(promise: nil)
    }
}

extension ChannelPipeline {
    /// Whether the pipeline has a TLS client handler. On the channel's event loop.
    fileprivate var isTLS: Bool {
        (try? syncOperations.handler(type: NIOSSLClientHandler.self)) != nil
    }
}

/// Reads the answer to the one request in flight (``HTTP1ResponseParser``) and hands it to its completion; a
/// connection that fails, closes or outlasts the deadline first fails it with the right kind of ``LoadError``.
///
/// Bytes count only while a request that is on the socket in full awaits its answer. Bytes at any other time (a
/// target that answers as soon as the connection opens, before it was asked, or before it had the whole request, or
/// that answers one request twice) answered no request: they end the connection as a protocol error, and are never
/// kept to be handed out as the answer to the next request written.
///
/// Deadlines are checked by one repeating sweep per connection rather than a timer per request: a timeout fires at
/// most ``sweepInterval`` late, and sending a request allocates no timer.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias Completion = (Result<LoadResponse, LoadError>) -> Void

    static let sweepInterval = LoadLimits.deadlineSweepInterval

    private var completion: Completion?
    private var parser = HTTP1ResponseParser()
    private var deadline = NIODeadline.distantFuture
    private var lastProgress = NIODeadline.distantFuture
    private var timeouts = HTTPClientConnection.Timeouts()
    private var keepBody = false
    private var status: Int?
    private var headers = HTTPHeaders()
    private var body: ByteBuffer?
    private var bodyByteCount = 0
    private var sweep: RepeatedTask?
    private var context: ChannelHandlerContext?
    private(set) var isKeepAlive = true
    /// Whether the awaited request's last byte is on the socket: only then can an answer be its answer.
    private var isRequestWritten = false
    private let answerBytesKeptMax: Int

    init(answerBytesKeptMax: Int = LoadLimits.answerBytesKeptDefault) {
        self.answerBytesKeptMax = answerBytesKeptMax
    }

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

    /// Awaits the answer to a request about to be written; `isHead` for a HEAD request, whose answer has no body.
    func expect(
        _ completion: @escaping Completion, keepBody: Bool, timeouts: HTTPClientConnection.Timeouts,
        isHead: Bool = false
    ) {
        precondition(self.completion == nil, "one request at a time per connection")
        let now = context?.eventLoop.now ?? .now()
        self.completion = completion
        self.keepBody = keepBody
        self.timeouts = timeouts
        deadline = now + timeouts.response
        lastProgress = now
        parser.begin(isHead: isHead)
        status = nil
        headers = HTTPHeaders()
        body = nil
        bodyByteCount = 0
        isRequestWritten = false
    }

    /// The awaited request's last byte is on the socket.
    func requestWritten() {
        isRequestWritten = true
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
        var buffer = unwrapInboundIn(data)
        guard completion != nil, isRequestWritten else {
            // An answer to a request not (yet) sent says nothing about any request: the connection cannot be
            // trusted to pair answers with requests any more.
            refuse(LoadError.answeredEarly, context: context)
            return
        }
        do {
            while let event = try parser.next(&buffer) {
                guard handle(event, context: context) else { return }
                // The answer is complete, and its completion may already have sent the next request: what is left of
                // these bytes answered no request.
                if case .end = event { break }
            }
        } catch {
            refuse(error, context: context)
            return
        }
        if buffer.readableBytes > 0 { refuse(LoadError.answeredEarly, context: context) }
    }

    /// Takes one event of the answer; false once the connection is closed.
    private func handle(_ event: HTTP1ResponseParser.Event, context: ChannelHandlerContext) -> Bool {
        switch event {
        case .head(let status, let headers, let keepAlive):
            self.status = status
            self.headers = headers
            isKeepAlive = keepAlive
        case .body(var buffer):
            bodyByteCount += buffer.readableBytes
            if keepBody {
                guard bodyByteCount <= answerBytesKeptMax else {
                    refuse(.answerLarger(than: answerBytesKeptMax), context: context)
                    return false
                }
                if body == nil { body = buffer } else { body!.writeBuffer(&buffer) }
            }
        case .end:
            guard let completion, let status else { return true }
            self.completion = nil
            completion(
                .success(
                    LoadResponse(
                        status: status, headers: headers, body: body ?? ByteBuffer(), bodyByteCount: bodyByteCount)))
        }
        return true
    }

    /// Fails the awaited request (if any) with `error` and closes: the connection cannot be read any further.
    private func refuse(_ error: LoadError, context: ChannelHandlerContext) {
        isKeepAlive = false
        fail(error)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        isKeepAlive = false
        fail(Self.classify(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isKeepAlive = false
        if completion != nil {
            do {
                if let event = try parser.connectionEnded() { _ = handle(event, context: context) }
            } catch {
                fail(error)
            }
            fail(LoadError(.reset, "the connection closed before the response was complete"))
        }
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
        // NIO's decoder (of the SSE client's answers) reports a connection that ended mid-response this way.
        case HTTPParserError.invalidEOFState: LoadError(.reset, "the connection closed mid-response")
        case is HTTPParserError, is NIOHTTPDecoderError: LoadError(.protocol, "\(error)")
        case let error as IOError: LoadError(.reset, describeSystemError(error))
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
    // A refused or unreachable connect is explained by the sentence around it ("nothing listens on …"); running out
    // of ports or files is not.
    case let error as IOError where [ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode):
        return String(cString: strerror(error.errnoCode)).lowercased()
    case let error as IOError:
        return describeSystemError(error)
    case ChannelError.connectTimeout(let time):
        return "no connection within \(Double(time.nanoseconds) / 1e9) s"
    default:
        return "\(error)"
    }
}

/// An error the kernel reported, as one line that says what it means for a load run and what to try, never NIO's
/// raw text (`read(descriptor:pointer:size:): Connection reset by peer (errno: 104)`).
func describeSystemError(_ error: IOError) -> String {
    let code = error.errnoCode
    let name = String(cString: strerror(code)).lowercased()
    switch code {
    case ECONNRESET:
        return "the target reset the connection (\(name)): it may cap connections per source address, or be "
            + "overloaded; --local-ips spreads connections over several addresses"
    case ECONNREFUSED:
        return "the target refused the connection (\(name)): nothing listens there, or its backlog is full"
    case EADDRNOTAVAIL, EADDRINUSE:
        return "no source port left to connect from (\(name)): --local-ips spreads connections over several "
            + "addresses, or widen net.ipv4.ip_local_port_range"
    case EMFILE, ENFILE:
        return "too many open files (\(name)): raise the open-file limit (ulimit -n) or open fewer connections"
    case EPIPE:
        return "the target closed the connection while the engine was writing (\(name))"
    case ETIMEDOUT:
        return "the connection timed out (\(name)): the target or the network did not answer"
    case ENETUNREACH, EHOSTUNREACH:
        return "the target cannot be reached (\(name)): check its address and the route to it"
    default:
        return name
    }
}
