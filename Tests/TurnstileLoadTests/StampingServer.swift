import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A raw server on loopback that stamps when each request's head and end arrive (when the socket read that carried
/// them happened, whatever handing them on cost afterwards). Over HTTP/1.1 it answers as soon
/// as the head is in, without waiting for the body (as a route that ignores its body does); over HTTP/2, once the
/// stream's end is in. It answers after `delay` if one is given: 200 with `ok`, or an HTML page, as a web server that
/// is not the API under test would. Requests name themselves with an `X-Index` header.
final class StampingServer: Sendable {
    let port: Int
    private let stamps: Stamps

    /// What the server speaks.
    enum Speaks {
        case http1
        /// HTTP/2 with prior knowledge, on plain TCP.
        case h2c
        /// TLS, then HTTP/2 or HTTP/1.1 as the client's ALPN offer chooses.
        case tls(TLSConfiguration)
    }

    /// When each request's head and end arrived, by its `X-Index`.
    private final class Stamps: Sendable {
        let received = Mutex<[Int: NIODeadline]>([:])
        let ended = Mutex<[Int: NIODeadline]>([:])
    }

    private init(port: Int, stamps: Stamps) {
        self.port = port
        self.stamps = stamps
    }

    /// Runs `body` against a server, then closes it.
    static func with<Result>(
        delay: TimeAmount = .zero, html: Bool = false, speaking speaks: Speaks = .http1,
        _ body: (StampingServer) async throws -> Result
    ) async throws -> Result {
        let stamps = Stamps()
        let tls = try speaks.tls.map { configuration in
            var configuration = configuration
            configuration.applicationProtocols = NIOHTTP2SupportedALPNProtocols
            return try NIOSSLContext(configuration: configuration)
        }
        @Sendable func handler(http2: Bool, readClock: ReadClock? = nil) -> Handler {
            Handler(delay: delay, html: html, answerOnEnd: http2, readClock: readClock) { index, at, isEnd in
                if isEnd {
                    stamps.ended.withLock { $0[index] = at }
                } else {
                    stamps.received.withLock { $0[index] = at }
                }
            }
        }
        @Sendable func http1(_ channel: any Channel) -> EventLoopFuture<Void> {
            channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                let clock = ReadClock()
                try channel.pipeline.syncOperations.addHandler(clock, position: .first)
                try channel.pipeline.syncOperations.addHandler(handler(http2: false, readClock: clock))
            }
        }
        @Sendable func http2(_ channel: any Channel) -> EventLoopFuture<Void> {
            channel.eventLoop.makeCompletedFuture {
                let clock = ReadClock()
                try channel.pipeline.syncOperations.addHandler(clock)
                let bound = NIOLoopBound(clock, eventLoop: channel.eventLoop)
                _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandlers(
                            HTTP2FramePayloadToHTTP1ServerCodec(), handler(http2: true, readClock: bound.value))
                    }
                }
            }
        }
        // Threads of its own, so the engine's event loops never wait for the server's work, nor the server for theirs.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { Task { try? await group.shutdownGracefully() } }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                switch speaks {
                case .http1: return http1(channel)
                case .h2c: return http2(channel)
                case .tls:
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls!))
                    }.flatMap {
                        channel.configureHTTP2SecureUpgrade(
                            h2ChannelConfigurator: http2, http1ChannelConfigurator: http1)
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = StampingServer(port: channel.localAddress?.port ?? 0, stamps: stamps)
        do {
            let result = try await body(server)
            try await channel.close().get()
            return result
        } catch {
            try? await channel.close().get()
            throw error
        }
    }

    /// When each request's head arrived, by its `X-Index`.
    var headsReceived: [Int: NIODeadline] { stamps.received.withLock { $0 } }
    /// When each request's end arrived (its body's last byte, or the frame that ends its stream), by its `X-Index`.
    var endsReceived: [Int: NIODeadline] { stamps.ended.withLock { $0 } }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let delay: TimeAmount
        let html: Bool
        let answerOnEnd: Bool
        let readClock: ReadClock?
        let stamp: @Sendable (_ index: Int, _ at: NIODeadline, _ isEnd: Bool) -> Void
        private var index = -1
        private var version = HTTPVersion.http1_1

        init(
            delay: TimeAmount, html: Bool, answerOnEnd: Bool, readClock: ReadClock?,
            stamp: @escaping @Sendable (_ index: Int, _ at: NIODeadline, _ isEnd: Bool) -> Void
        ) {
            self.delay = delay
            self.html = html
            self.answerOnEnd = answerOnEnd
            self.readClock = readClock
            self.stamp = stamp
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                index = Int(head.headers.first(name: "X-Index") ?? "") ?? -1
                version = head.version
                stamp(index, readClock?.lastReadAt ?? .now(), false)
                if !answerOnEnd { answerLater(context) }
            case .body:
                break
            case .end:
                stamp(index, readClock?.lastReadAt ?? .now(), true)
                if answerOnEnd { answerLater(context) }
            }
        }

        private func answerLater(_ context: ChannelHandlerContext) {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            if delay > .zero {
                context.eventLoop.scheduleTask(in: delay) { bound.value.0.answer(bound.value.1) }
            } else {
                // After this loop turn's reads: answering a burst of a hundred streams first would hold back the
                // reads (and so the stamps) of every other connection that became readable with it.
                context.eventLoop.execute { bound.value.0.answer(bound.value.1) }
            }
        }

        private func answer(_ context: ChannelHandlerContext) {
            let body = html ? "<!doctype html><title>Welcome to nginx!</title>" : "ok"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Content-Type", value: html ? "text/html" : "text/plain")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// When a connection last read bytes from its socket (or, on HTTP/2, from TLS): the moment a request's bytes arrived,
/// whatever it then cost to hand them on (to HTTP/2's streams, one after another). On the connection's event loop.
private final class ReadClock: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private(set) var lastReadAt = NIODeadline.now()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastReadAt = .now()
        context.fireChannelRead(data)
    }
}

extension StampingServer.Speaks {
    fileprivate var tls: TLSConfiguration? {
        if case .tls(let configuration) = self { configuration } else { nil }
    }
}
