import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import TurnstileReport

/// The HTTP/2 side of an ``HTTPClientConnection``: every request is a stream of the connection, written and read as
/// HTTP/2 frames straight behind NIO's `NIOHTTP2Handler` (no channel per stream: that cost more than twice h2load's
/// CPU per request). It opens client streams in order, keeps each one's response as it arrives, gives back flow
/// control credit as it reads, and checks every stream's deadlines with one sweep per connection. Used on the
/// connection's event loop only.
///
/// For a race (``BarrierExecutor``), a connection that holds its requests' ends writes each request's headers and
/// body at once but not the frame that ends its stream; ``prepareRelease()`` writes every held end into a closed
/// ``ReleaseGate`` and ``releaseHeldEnds()`` opens it, so they reach the socket as one buffer: the single-packet race.
final class HTTP2Streams: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    /// One request awaiting its response.
    private struct Stream {
        var completion: ResponseHandler.Completion
        var keepBody: Bool
        var timeouts: HTTPClientConnection.Timeouts
        var deadline: NIODeadline
        var lastProgress: NIODeadline
        var status: Int?
        var headers = HTTPHeaders()
        var body: ByteBuffer?
        var bodyByteCount = 0
        /// Body bytes read since the stream's flow control window was last topped up.
        var unacknowledged = 0
        /// Flow control credit given to the stream so far, beyond its initial window.
        var credited = 0
        /// Whether the request is on the socket in full (held ends count as written: the barrier judges answers
        /// that come before its release). Until then no answer can be this request's.
        var isWritten: Bool
    }

    /// Flow control credit goes back once this much has been read: half of HTTP/2's initial window.
    private static let windowTopUp = 32_768
    /// Every stream's initial window, as the client's settings (NIO's defaults) announce it.
    private static let initialWindowBytes = 65_535

    private let scheme: String
    private let answerBytesKeptMax: Int
    private let gate: ReleaseGate?
    private let settled: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var sweep: RepeatedTask?
    private var streams: [HTTP2StreamID: Stream] = [:]
    private var nextStreamID = HTTP2StreamID(1)
    /// Streams whose requests wait for their ends to be written, in the order they were sent.
    private var held: [HTTP2StreamID] = []
    /// Connection-wide body bytes read since the connection's window was last topped up.
    private var unacknowledged = 0
    /// Request header blocks already built for this connection's target.
    private var built = RequestBuilds<HPACKHeaders>()

    /// Whether the server said it takes no new streams (GOAWAY), or the connection closed.
    private(set) var isGoingAway = false
    /// How many streams the server allows at once, as its settings said: RFC 9113 sets no limit until they do; NIO
    /// assumes 100.
    private(set) var streamsMax = 100

    /// - Parameter settled: completed when the server's first settings arrive, failed if the connection ends first:
    ///   a connection is handed out only then, so its first streams already know the server's limit.
    /// - Parameter answerBytesKeptMax: the most bytes of a kept body (``HTTPOptions/answerBytesKeptMax``).
    init(
        secure: Bool, gate: ReleaseGate?, settled: EventLoopPromise<Void>,
        answerBytesKeptMax: Int = LoadLimits.answerBytesKeptDefault
    ) {
        scheme = secure ? "https" : "http"
        self.answerBytesKeptMax = answerBytesKeptMax
        self.gate = gate
        self.settled = settled
    }

    /// When the held ends went out, once released.
    var releasedAt: NIODeadline? { gate?.releasedAt }
    /// The bytes the release handed to the socket.
    var releasedByteCount: Int { gate?.releasedByteCount ?? 0 }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweep = context.eventLoop.scheduleRepeatedTask(
            initialDelay: ResponseHandler.sweepInterval, delay: ResponseHandler.sweepInterval
        ) { _ in bound.value.checkDeadlines() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweep?.cancel()
        self.context = nil
        // A channel that closed before this handler was added never tells it so: whatever waits for the settings or a
        // stream's answer hears it here (a promise completed already is left as it is).
        failAll(LoadError(.reset, "the connection closed before the response was complete"))
        settled.fail(LoadError(.reset, "the connection closed before the server's HTTP/2 settings arrived"))
    }

    /// Opens a stream for `request` and sends it: its headers and body, and, unless the connection holds request
    /// ends, the end of the stream. `written` completes once what is sent is on the socket.
    func send(
        _ request: LoadRequest, to target: LoadTarget, timeouts: HTTPClientConnection.Timeouts, keepBody: Bool,
        written: EventLoopPromise<Void>?, completion: @escaping ResponseHandler.Completion
    ) {
        guard let context, !isGoingAway else {
            let failure = LoadError(.reset, "the connection is closed or going away")
            written?.fail(failure)
            completion(.failure(failure))
            return
        }
        let id = nextStreamID
        nextStreamID = HTTP2StreamID(Int(id) + 2)
        // Stream ids run out at 2³¹ − 1 (a billion requests on one connection): the executor opens another.
        if Int(nextStreamID) > Int(Int32.max) - 2 { isGoingAway = true }
        let now = context.eventLoop.now
        let body = request.body.flatMap { $0.readableBytes > 0 ? $0 : nil }
        let ends = gate == nil
        // A request without a body is one HEADERS frame, which the server must have whole to answer; a body's DATA
        // may wait for flow control credit, and an answer must not come before it has gone.
        streams[id] = Stream(
            completion: completion, keepBody: keepBody, timeouts: timeouts, deadline: now + timeouts.response,
            lastProgress: now, isWritten: body == nil || !ends)
        var bodyWritten = written
        if body != nil, ends {
            let ended = context.eventLoop.makePromise(of: Void.self)
            ended.futureResult.assumeIsolated().whenComplete { [self] result in
                if case .success = result { streams[id]?.isWritten = true }
                written?.completeWith(result)
            }
            bodyWritten = ended
        }
        context.write(
            wrapOutboundOut(
                HTTP2Frame(
                    streamID: id,
                    payload: .headers(.init(headers: headers(of: request, for: target), endStream: ends && body == nil))
                )), promise: body == nil ? written : nil)
        if let body {
            context.write(
                wrapOutboundOut(
                    HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: ends)))),
                promise: bodyWritten)
        }
        if !ends { held.append(id) }
        context.flush()
    }

    /// The request's header block: the pseudo-headers, its own headers but those HTTP/2 forbids or the engine sets,
    /// and the body's length. Built once per request identity, as the HTTP/1.1 side encodes its requests once.
    private func headers(of request: LoadRequest, for target: LoadTarget) -> HPACKHeaders {
        built.value(for: request) { Self.buildHeaders(of: request, for: target, scheme: scheme) }
    }

    private static func buildHeaders(of request: LoadRequest, for target: LoadTarget, scheme: String) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(request.headers.count + 5)
        headers.add(name: ":method", value: request.method.rawValue)
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":authority", value: target.hostHeader)
        headers.add(name: ":path", value: target.basePath.isEmpty ? request.path : target.basePath + request.path)
        for (name, value) in request.headers {
            // HTTP/2 field names are lower case; most already are, and need no copy.
            let name = name.utf8.contains(where: { (65...90).contains($0) }) ? name.lowercased() : name
            if !connectionSpecific.contains(name) { headers.add(name: name, value: value) }
        }
        headers.add(name: "content-length", value: String(request.body?.readableBytes ?? 0))
        return headers
    }

    /// Headers the engine sets itself, or that HTTP/2 does not allow (RFC 9113 §8.2.2).
    private static let connectionSpecific: Set<String> = [
        "host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection",
    ]

    /// Writes the end of every held stream into the closed gate, which keeps them for ``releaseHeldEnds()``. Done
    /// apart from the release, so that a race over several connections releases them all in one tight loop.
    func prepareRelease() {
        guard let gate, let context else { return }
        gate.close()
        for id in held {
            context.write(
                wrapOutboundOut(
                    HTTP2Frame(
                        streamID: id,
                        payload: .data(
                            .init(data: .byteBuffer(context.channel.allocator.buffer(capacity: 0)), endStream: true)))),
                promise: nil)
        }
        context.flush()
    }

    /// Opens the gate: every prepared end goes out in one write. Each held stream's response clocks start now: until
    /// its end went out, the server could not answer it. Returns when the ends went out.
    func releaseHeldEnds() -> NIODeadline {
        guard let gate else { return .now() }
        if !gate.isClosed { prepareRelease() }
        let released = gate.open()
        let now = context?.eventLoop.now ?? .now()
        for id in held {
            guard var stream = streams[id] else { continue }
            stream.deadline = now + stream.timeouts.response
            stream.lastProgress = now
            streams[id] = stream
        }
        held = []
        return released
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams { streamsMax = setting.value }
            settled.succeed()
        case .goAway(let lastStreamID, let code, _):
            isGoingAway = true
            // Streams after the last one the server took were never seen: nothing about them is known.
            for id in streams.keys where id > lastStreamID {
                finish(id, .failure(LoadError(.reset, "the server went away (GOAWAY, \(code)) before the request")))
            }
        case .headers(let block):
            let id = frame.streamID
            guard streams[id] != nil else { return }
            guard streams[id]!.isWritten else {
                reset(id, LoadError.answeredEarly)
                return
            }
            // Changed in place (the dictionary's modify accessor), not copied out and back.
            streams[id]!.lastProgress = context.eventLoop.now
            if streams[id]!.status == nil, let status = Self.status(of: block.headers),
                !(100..<200).contains(status) || status == 101
            {
                // An interim answer (100 Continue, 103 Early Hints) is not the response.
                streams[id]!.status = status
                // Load traffic reads the status and the size; the headers come with a kept body.
                if streams[id]!.keepBody {
                    for (name, value, _) in block.headers where !name.hasPrefix(":") {
                        streams[id]!.headers.add(name: name, value: value)
                    }
                }
            }
            if block.endStream { complete(id) }
        case .data(let payload):
            guard case .byteBuffer(var buffer) = payload.data else { return }
            let count = buffer.readableBytes
            // The connection's window counts every DATA byte, those of a stream already failed and reset too (an
            // answer over the kept size, a deadline): credit not given back for them would shut it for good.
            unacknowledged += count
            if unacknowledged >= Self.windowTopUp {
                giveCredit(unacknowledged, to: .rootStream, context: context)
                unacknowledged = 0
            }
            let id = frame.streamID
            guard streams[id] != nil else { return }
            streams[id]!.lastProgress = context.eventLoop.now
            streams[id]!.bodyByteCount += count
            if streams[id]!.keepBody {
                guard streams[id]!.bodyByteCount <= answerBytesKeptMax else {
                    reset(id, .answerLarger(than: answerBytesKeptMax))
                    return
                }
                if streams[id]!.body == nil {
                    streams[id]!.body = buffer
                } else {
                    streams[id]!.body!.writeBuffer(&buffer)
                }
            }
            streams[id]!.unacknowledged += count
            if !payload.endStream, streams[id]!.unacknowledged >= Self.windowTopUp {
                giveCredit(streams[id]!.unacknowledged, to: id, context: context)
                streams[id]!.credited += streams[id]!.unacknowledged
                streams[id]!.unacknowledged = 0
            }
            if payload.endStream { complete(id) }
        case .rstStream(let code):
            finish(frame.streamID, .failure(LoadError(.reset, "the server reset the stream (\(code))")))
        default:
            break
        }
    }

    /// The response's status: `:status` comes first of the pseudo-headers, which come first (RFC 9113 §8.3).
    private static func status(of headers: HPACKHeaders) -> Int? {
        for (name, value, _) in headers {
            guard name.hasPrefix(":") else { return nil }
            if name == ":status" { return Int(value) }
        }
        return nil
    }

    private func giveCredit(_ bytes: Int, to id: HTTP2StreamID, context: ChannelHandlerContext) {
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: bytes))), promise: nil)
    }

    private func complete(_ id: HTTP2StreamID) {
        guard let stream = streams[id] else { return }
        guard let status = stream.status else {
            finish(id, .failure(LoadError(.protocol, "the stream ended without a response status")))
            return
        }
        finish(
            id,
            .success(
                LoadResponse(
                    status: status, headers: stream.headers, body: stream.body ?? ByteBuffer(),
                    bodyByteCount: stream.bodyByteCount)))
    }

    private func finish(_ id: HTTP2StreamID, _ result: Result<LoadResponse, LoadError>) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.completion(result)
    }

    /// Fails the streams whose deadline passed, and resets them so the server stops working on them; the connection
    /// stays for the others.
    private func checkDeadlines() {
        guard let context else { return }
        let now = context.eventLoop.now
        for (id, stream) in streams {
            let failure: LoadError
            if now >= stream.deadline {
                failure = LoadError(.timeout, "no complete response within \(stream.timeouts.response)")
            } else if now - stream.lastProgress >= stream.timeouts.read {
                failure = LoadError(.timeout, "nothing received for \(stream.timeouts.read)")
            } else {
                continue
            }
            reset(id, failure)
        }
    }

    /// Fails a stream and resets it, so the server stops working on it; the connection stays for the others.
    ///
    /// Whatever the server already sent on it, NIO drops on arrival: those bytes never reach this handler to be
    /// credited back to the connection's window, which would shrink with every reset until it shut. So the stream's
    /// whole unused window goes back to the connection now: a little more than may come, never less.
    private func reset(_ id: HTTP2StreamID, _ failure: LoadError) {
        guard let stream = streams[id], let context else { return }
        finish(id, .failure(failure))
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
        let unused = Self.initialWindowBytes + stream.credited - stream.bodyByteCount
        if unused > 0 { giveCredit(unused, to: .rootStream, context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's own error (NIO has reset it) ends that stream; any other ends the connection.
        if let error = error as? NIOHTTP2Errors.StreamError {
            finish(error.streamID, .failure(LoadError(.protocol, "HTTP/2: \(error.baseError)")))
            return
        }
        failAll(ResponseHandler.classify(error))
        settled.fail(LoadError(.protocol, "HTTP/2: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isGoingAway = true
        failAll(LoadError(.reset, "the connection closed before the response was complete"))
        settled.fail(LoadError(.reset, "the connection closed before the server's HTTP/2 settings arrived"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: LoadError) {
        isGoingAway = true
        for id in streams.keys { finish(id, .failure(error)) }
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
    private(set) var isClosed = false
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
