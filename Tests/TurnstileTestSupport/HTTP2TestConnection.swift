import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A raw HTTP/2 client over TLS, for tests that behave as hostile clients do: it writes the frames a test chooses
/// (streams it never ends, no flow-control credit), and records every frame the server sends. It gives no credit
/// back on its own: the server can send only what the windows it announced allow.
public final class HTTP2TestConnection: Sendable {
    private let channel: any Channel
    private let log: FrameLog

    private init(channel: any Channel, log: FrameLog) {
        self.channel = channel
        self.log = log
    }

    /// Connects to 127.0.0.1:`port`, trusting the certificate at `certificatePath`, and announces
    /// `initialWindowSize` as every stream's window (0: the server may send no body at all). With `answersPings`
    /// false, the PING acknowledgements NIOHTTP2 makes are dropped before they reach the socket: a client that
    /// ignores the PING a server sends with its GOAWAY.
    public static func connect(
        port: Int, trusting certificatePath: String, initialWindowSize: Int = 65_535, answersPings: Bool = true
    ) async throws -> HTTP2TestConnection {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificatePath)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let log = FrameLog()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    if !answersPings { try sync.addHandler(PingAckFilter()) }
                    try sync.addHandler(
                        NIOHTTP2Handler(
                            mode: .client,
                            initialSettings: [
                                HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
                                HTTP2Setting(parameter: .initialWindowSize, value: initialWindowSize),
                            ]))
                    try sync.addHandler(Recorder(log: log))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return HTTP2TestConnection(channel: channel, log: log)
    }

    /// A request's HEADERS frame on stream `id`, ending the stream if `ends`.
    public static func request(
        _ id: Int, _ method: String, _ path: String, ends: Bool, contentLength: Int? = nil
    ) -> HTTP2Frame {
        var headers = HPACKHeaders([
            (":method", method), (":scheme", "https"), (":authority", "localhost"), (":path", path),
        ])
        if let contentLength {
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(contentLength))
        }
        return HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: headers, endStream: ends)))
    }

    /// A DATA frame of `text` on stream `id`.
    public static func data(_ id: Int, _ text: String, ends: Bool = false) -> HTTP2Frame {
        HTTP2Frame(
            streamID: HTTP2StreamID(id),
            payload: .data(.init(data: .byteBuffer(ByteBuffer(string: text)), endStream: ends)))
    }

    /// Writes `frames` in one flush.
    public func send(_ frames: [HTTP2Frame]) async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            for frame in frames { channel.write(frame, promise: nil) }
            channel.flush()
        }.get()
    }

    /// The `:status` of the response headers the server sent on stream `id`, if any yet.
    public func status(on id: Int) -> Int? {
        log.frames.withLock { frames in
            for frame in frames where frame.streamID == HTTP2StreamID(id) {
                guard case .headers(let block) = frame.payload, let status = block.headers.first(name: ":status")
                else { continue }
                return Int(status)
            }
            return nil
        }
    }

    /// Whether the server reset stream `id`.
    public func wasReset(_ id: Int) -> Bool {
        log.frames.withLock { frames in
            frames.contains { frame in
                guard frame.streamID == HTTP2StreamID(id), case .rstStream = frame.payload else { return false }
                return true
            }
        }
    }

    /// Whether the server ended stream `id` (its last frame carried END_STREAM).
    public func wasEnded(_ id: Int) -> Bool {
        log.frames.withLock { frames in
            frames.contains { frame in
                guard frame.streamID == HTTP2StreamID(id) else { return false }
                switch frame.payload {
                case .headers(let block): return block.endStream
                case .data(let data): return data.endStream
                default: return false
                }
            }
        }
    }

    /// Whether the server sent GOAWAY.
    public var wentAway: Bool {
        log.frames.withLock { frames in frames.contains { if case .goAway = $0.payload { true } else { false } } }
    }

    /// Every frame the server sent, one line each, for a failing test's message.
    public var transcript: String {
        log.frames.withLock { frames in
            frames.map { frame in
                switch frame.payload {
                case .headers(let block):
                    "\(frame.streamID) HEADERS \(block.headers.first(name: ":status") ?? "")"
                        + (block.endStream ? " END" : "")
                case .data(let data): "\(frame.streamID) DATA\(data.endStream ? " END" : "")"
                case .rstStream(let code): "\(frame.streamID) RST_STREAM \(code)"
                case .goAway(let last, let code, _): "GOAWAY \(last) \(code)"
                default: "\(frame.streamID) \(frame.payload)"
                }
            }.joined(separator: "\n")
        }
    }

    /// Whether the connection is closed.
    public var isClosed: Bool { !channel.isActive }

    /// Waits until `condition` holds, checking as frames arrive and the connection closes, or until `limit` passes;
    /// returns whether it held.
    public func wait(within limit: Duration, until condition: @Sendable () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let seen = log.version
            if condition() || isClosed { return condition() }
            await log.changed(since: seen, within: deadline - ContinuousClock.now)
        }
        return condition()
    }

    public func close() {
        channel.close(promise: nil)
    }

    /// Every frame the server sent, and a way to wait for the next one.
    private final class FrameLog: Sendable {
        let frames = Mutex<[HTTP2Frame]>([])
        /// How many changes there were, and who waits for the next.
        private let state = Mutex<(version: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

        var version: Int { state.withLock { $0.version } }

        func append(_ frame: HTTP2Frame) {
            frames.withLock { $0.append(frame) }
            wake()
        }

        func wake() {
            let waiters = state.withLock { state in
                state.version += 1
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        /// Returns once something changed after version `seen`, or after `limit`.
        func changed(since seen: Int, within limit: Duration) async {
            let timer = Task {
                try? await Task.sleep(for: limit)
                self.wake()
            }
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state in
                    guard state.version == seen else { return false }
                    state.waiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
            timer.cancel()
        }
    }

    /// Drops PING acknowledgements from the client's outbound bytes, frame by frame (after the 24-byte preface).
    private final class PingAckFilter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var prefaceLeft = 24
        private var pending = ByteBuffer()

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            var bytes = unwrapOutboundIn(data)
            var out = context.channel.allocator.buffer(capacity: bytes.readableBytes)
            let preface = min(prefaceLeft, bytes.readableBytes)
            if preface > 0, var slice = bytes.readSlice(length: preface) {
                prefaceLeft -= preface
                out.writeBuffer(&slice)
            }
            pending.writeBuffer(&bytes)
            // Every whole frame: a 9-byte header (24-bit length, type, flags, stream), then its payload.
            while pending.readableBytes >= 9,
                let high = pending.getInteger(at: pending.readerIndex, as: UInt8.self),
                let low = pending.getInteger(at: pending.readerIndex + 1, as: UInt16.self),
                case let length = Int(high) << 16 | Int(low), pending.readableBytes >= 9 + length,
                var frame = pending.readSlice(length: 9 + length)
            {
                let type = frame.getInteger(at: frame.readerIndex + 3, as: UInt8.self)
                let flags = frame.getInteger(at: frame.readerIndex + 4, as: UInt8.self) ?? 0
                if type == 0x6, flags & 0x1 != 0 { continue }
                out.writeBuffer(&frame)
            }
            context.write(wrapOutboundOut(out), promise: promise)
        }
    }

    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame
        let log: FrameLog

        init(log: FrameLog) {
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            log.append(unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            log.wake()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
