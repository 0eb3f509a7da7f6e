import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A target with a known capacity in connections: a connection opened while `capacity` others are open is answered
/// 503 on `GET /work` for as long as it lasts; `GET /look` always answers 200. A closed loop of N users holds N
/// connections, so a ramp breaks exactly at its first stage past the capacity, whatever the machine's speed (a
/// stage's connections may overlap the last stage's closing ones only by making the count higher).
public struct CappedTarget: Sendable {
    public let port: Int

    public static func with<Result: Sendable>(
        capacity: Int, _ body: @Sendable (CappedTarget) async throws -> Result
    ) async throws -> Result {
        let open = OpenCount()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CappedHandler(open: open, capacity: capacity))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        return try await body(CappedTarget(port: channel.localAddress?.port ?? 0))
    }
}

private final class OpenCount: Sendable {
    let count = Mutex(0)
}

private final class CappedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let open: OpenCount
    private let capacity: Int
    private var isOver = false
    private var uri = ""

    init(open: OpenCount, capacity: Int) {
        self.open = open
        self.capacity = capacity
    }

    func channelActive(context: ChannelHandlerContext) {
        isOver = open.count.withLock { count in
            count += 1
            return count > capacity
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        open.count.withLock { $0 -= 1 }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end:
            let refused = uri == "/work" && isOver
            let body = ByteBuffer(string: refused ? #"{"error":"busy"}"# : #"{"ok":true}"#)
            let headers = HTTPHeaders([
                ("Content-Type", "application/json"), ("Content-Length", "\(body.readableBytes)"),
            ])
            let head = HTTPResponseHead(
                version: .http1_1, status: refused ? .serviceUnavailable : .ok, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
