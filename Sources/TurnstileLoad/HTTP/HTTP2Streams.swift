import NIOCore
import NIOHTTP1
import NIOHTTP2
import TurnstileReport

/// The HTTP/2 side of an ``HTTPClientConnection``: every request is a stream of the connection, spoken through NIO's
/// HTTP/1-to-HTTP/2 codec, so a stream reads and writes the same request and response parts (and the same
/// ``ResponseHandler``) as an HTTP/1.1 connection does. Used on the connection's event loop only.
///
/// For a race (``BarrierExecutor``), a connection that holds its requests' ends writes each request's headers and
/// body at once but keeps the frame that ends its stream; ``releaseHeldEnds()`` then writes every held end in one go,
/// through a ``ReleaseGate`` that hands them to the socket as one buffer: the single-packet race.
final class HTTP2Streams {
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    private let httpProtocol: HTTP2FramePayloadToHTTP1ClientCodec.HTTPProtocol
    private let watcher: ConnectionFrameWatcher
    private let gate: ReleaseGate?
    /// Streams whose requests wait for their ends to be written, in the order they were sent.
    private var held: [(stream: any Channel, handler: ResponseHandler)] = []
    /// Requests sent and not yet answered.
    private(set) var active = 0

    init(
        multiplexer: NIOHTTP2Handler.StreamMultiplexer, secure: Bool, watcher: ConnectionFrameWatcher,
        gate: ReleaseGate?
    ) {
        self.multiplexer = multiplexer
        httpProtocol = secure ? .https : .http
        self.watcher = watcher
        self.gate = gate
    }

    /// Whether the server said it takes no new streams (GOAWAY).
    var isGoingAway: Bool { watcher.isGoingAway }
    /// How many streams the server allows at once, as its settings said.
    var streamsMax: Int { watcher.streamsMax }
    /// When the held ends went out, once released.
    var releasedAt: NIODeadline? { gate?.releasedAt }
    /// The bytes the release handed to the socket.
    var releasedByteCount: Int { gate?.releasedByteCount ?? 0 }

    /// Opens a stream for `request` and sends it: its headers (`Host` becomes `:authority`) and body, and, unless the
    /// connection holds request ends, the end of the stream. `written` completes once what is sent is on the socket.
    func send(
        _ request: LoadRequest, to target: LoadTarget, timeouts: HTTPClientConnection.Timeouts, keepBody: Bool,
        written: EventLoopPromise<Void>?, completion: @escaping ResponseHandler.Completion
    ) {
        active += 1
        let finish: ResponseHandler.Completion = { result in
            self.active -= 1
            completion(result)
        }
        let holding = gate != nil
        let httpProtocol = self.httpProtocol
        let opened = multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandlers(
                    HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: httpProtocol), ResponseHandler())
            }
        }
        opened.assumeIsolated().whenComplete { result in
            do {
                let stream = try result.get()
                let handler = try stream.pipeline.syncOperations.handler(type: ResponseHandler.self)
                handler.expect(finish, keepBody: keepBody, timeouts: timeouts)
                let body = request.body.flatMap { $0.readableBytes > 0 ? $0 : nil }
                // Held, the stream's last part is its head or body; `written` completes once that is on the socket.
                stream.write(
                    HTTPClientRequestPart.head(Self.head(of: request, for: target)),
                    promise: holding && body == nil ? written : nil)
                if let body {
                    stream.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: holding ? written : nil)
                }
                if holding {
                    self.held.append((stream, handler))
                    stream.flush()
                } else {
                    stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: written)
                }
            } catch {
                let failure = ResponseHandler.classify(error)
                written?.fail(failure)
                finish(.failure(failure))
            }
        }
    }

    /// The request's head for the codec: its own headers but those HTTP/2 forbids or sets itself, the target's
    /// `Host` (which the codec sends as `:authority`) and the body's length.
    private static func head(of request: LoadRequest, for target: LoadTarget) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 2)
        headers.add(name: "host", value: target.hostHeader)
        for (name, value) in request.headers where !hopByHop.contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        headers.add(name: "content-length", value: String(request.body?.readableBytes ?? 0))
        let uri = target.basePath.isEmpty ? request.path : target.basePath + request.path
        return HTTPRequestHead(version: .http1_1, method: request.method, uri: uri, headers: headers)
    }

    /// Headers the engine sets itself, or that HTTP/2 does not allow.
    private static let hopByHop: Set<String> = [
        "host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection",
    ]

    /// Writes the end of every held stream, all at once: the gate keeps them until the last is written, then hands
    /// them to the socket as one buffer. Each stream's response clocks start now. Returns when they went out.
    func releaseHeldEnds() -> NIODeadline {
        guard let gate else { return .now() }
        let held = self.held
        self.held = []
        gate.close()
        for (stream, handler) in held {
            handler.restartClocks()
            stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return gate.open()
    }
}

/// Notes what the server says about the whole connection: its settings (how many streams it allows at once) and a
/// GOAWAY, after which no new stream may be opened. Completes `settled` when the server's first settings arrive: a
/// connection is handed out only then, so its first streams already know the server's limit.
final class ConnectionFrameWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame

    private(set) var isGoingAway = false
    /// The server's limit on streams at once: RFC 9113 sets none until its settings say; NIO assumes 100.
    private(set) var streamsMax = 100
    private let settled: EventLoopPromise<Void>

    init(settled: EventLoopPromise<Void>) {
        self.settled = settled
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                streamsMax = setting.value
            }
            settled.succeed()
        case .goAway:
            isGoingAway = true
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isGoingAway = true
        settled.fail(LoadError(.reset, "the connection closed before the server's HTTP/2 settings arrived"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        settled.fail(LoadError(.protocol, "HTTP/2: \(error)"))
        context.fireErrorCaught(error)
    }
}

/// Sits between the HTTP/2 handler and the socket (or TLS). Open, it passes everything; closed, it gathers what is
/// written into one buffer and swallows flushes; opening it again writes that buffer and flushes once, so the frames
/// written while it was closed reach the socket in one write, as few TCP segments as their size allows.
final class ReleaseGate: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var context: ChannelHandlerContext?
    private var gathered: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []
    private var isClosed = false
    /// When the gathered bytes were handed to the socket, once opened after closing.
    private(set) var releasedAt: NIODeadline?
    private(set) var releasedByteCount = 0

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func close() {
        isClosed = true
    }

    /// Writes what was gathered in one buffer, flushes, and returns when.
    func open() -> NIODeadline {
        isClosed = false
        let now = NIODeadline.now()
        releasedAt = now
        guard let context else { return now }
        let buffer = gathered ?? context.channel.allocator.buffer(capacity: 0)
        gathered = nil
        releasedByteCount += buffer.readableBytes
        let promises = self.promises
        self.promises = []
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { result in
            for promise in promises { promise.completeWith(result) }
        }
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer)), promise: written)
        return now
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard isClosed else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .byteBuffer(var buffer):
            if gathered == nil {
                gathered = buffer
            } else {
                gathered!.writeBuffer(&buffer)
            }
            if let promise { promises.append(promise) }
        case .fileRegion:
            context.write(data, promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        guard !isClosed else { return }
        context.flush()
    }
}
