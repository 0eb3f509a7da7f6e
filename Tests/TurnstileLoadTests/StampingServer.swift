import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A raw HTTP/1.1 server on loopback that stamps when each request's head arrives and answers at once, without
/// waiting for the body (as a route that ignores its body does), after `delay` if one is given: 200 with `ok`, or
/// an HTML page, as a web server that is not the API under test would. Requests name themselves with an `X-Index`
/// header.
final class StampingServer: Sendable {
    let port: Int
    private let stamps: Stamps

    /// When each request's head arrived, by its `X-Index`.
    private final class Stamps: Sendable {
        let received = Mutex<[Int: NIODeadline]>([:])
    }

    private init(port: Int, stamps: Stamps) {
        self.port = port
        self.stamps = stamps
    }

    /// Runs `body` against a server, then closes it.
    static func with<Result>(
        delay: TimeAmount = .zero, html: Bool = false, _ body: (StampingServer) async throws -> Result
    ) async throws -> Result {
        let stamps = Stamps()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(delay: delay, html: html) { index, at in stamps.received.withLock { $0[index] = at } })
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

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let delay: TimeAmount
        let html: Bool
        let onHead: @Sendable (Int, NIODeadline) -> Void

        init(delay: TimeAmount, html: Bool, onHead: @escaping @Sendable (Int, NIODeadline) -> Void) {
            self.delay = delay
            self.html = html
            self.onHead = onHead
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            onHead(Int(head.headers.first(name: "X-Index") ?? "") ?? -1, .now())
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            if delay > .zero {
                context.eventLoop.scheduleTask(in: delay) { bound.value.0.answer(bound.value.1) }
            } else {
                answer(context)
            }
        }

        private func answer(_ context: ChannelHandlerContext) {
            let body = html ? "<!doctype html><title>Welcome to nginx!</title>" : "ok"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Content-Type", value: html ? "text/html" : "text/plain")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
