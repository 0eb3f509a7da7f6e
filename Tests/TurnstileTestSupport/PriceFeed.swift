import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A live price feed whose shape is nothing like Turnstile's: the target of the tests of scenario subscribers.
///
/// - `POST /prices {"value": N}` → 201 `{"accepted": N}`, and every watcher is sent
///   `{"type": "price", "price": {"value": N}}`.
/// - `GET /prices/live`, upgraded to WebSocket: a watcher once it sends `{"watch": "prices"}` (before that it gets
///   nothing), which is answered `{"type": "watching"}`, a message that is not an event.
/// - `GET /prices/stream`: Server-Sent Events (`event: price`, `data: {…}`), with a comment line first.
///
/// With `dropsEvery` k, every k-th watcher (the first, the k+1-th, …) misses every other event: a feed that loses
/// deliveries for some subscribers.
public final class PriceFeed: Sendable {
    public let port: Int
    private let channel: any Channel
    fileprivate let hub: Hub

    private init(port: Int, channel: any Channel, hub: Hub) {
        self.port = port
        self.channel = channel
        self.hub = hub
    }

    public static func with<Result: Sendable>(
        dropsEvery: Int? = nil, _ body: @Sendable (PriceFeed) async throws -> Result
    ) async throws -> Result {
        let hub = Hub(dropsEvery: dropsEvery)
        let upgrader = NIOWebSocketServerUpgrader(
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(head.uri == "/prices/live" ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WatcherHandler(hub: hub))
                }
            })
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4_096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let http = PriceHTTPHandler(hub: hub)
                    let bound = NIOLoopBound(http, eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.syncOperations.removeHandler(bound.value, promise: nil)
                            }
                        ))
                    try channel.pipeline.syncOperations.addHandler(http)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let feed = PriceFeed(port: channel.localAddress?.port ?? 0, channel: channel, hub: hub)
        do {
            let result = try await body(feed)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// The watchers, and the events sent to them.
private final class Hub: Sendable {
    private struct Watcher {
        let channel: any Channel
        let index: Int
        let sse: Bool
    }

    private let dropsEvery: Int?
    private let state = Mutex<(watchers: [ObjectIdentifier: Watcher], joined: Int, events: Int)>(([:], 0, 0))

    init(dropsEvery: Int?) {
        self.dropsEvery = dropsEvery
    }

    func watch(_ channel: any Channel, sse: Bool) {
        state.withLock { state in
            state.watchers[ObjectIdentifier(channel)] = Watcher(channel: channel, index: state.joined, sse: sse)
            state.joined += 1
        }
        channel.closeFuture.whenComplete { _ in
            _ = self.state.withLock { $0.watchers.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    func publish(_ value: Int) {
        let (watchers, event) = state.withLock { state in
            state.events += 1
            return (Array(state.watchers.values), state.events)
        }
        let json = #"{"type":"price","price":{"value":\#(value)}}"#
        for watcher in watchers {
            if let k = dropsEvery, watcher.index % k == 0, event % 2 == 0 { continue }
            if watcher.sse {
                let text = "event: price\ndata: \(json)\n\n"
                watcher.channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: text))))
                    .whenFailure { _ in }
            } else {
                let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: json))
                watcher.channel.writeAndFlush(frame).whenFailure { _ in }
            }
        }
    }
}

/// `POST /prices` and `GET /prices/stream`; anything else is 404.
private final class PriceHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let hub: Hub
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    init(hub: Hub) {
        self.hub = hub
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            if head.method == .POST, head.uri == "/prices",
                let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let value = object["value"] as? Int
            {
                hub.publish(value)
                respond(context, .created, #"{"accepted":\#(value)}"#)
            } else if head.method == .GET, head.uri == "/prices/stream" {
                // Watching before the answer goes out: once a subscriber has the answer, it misses nothing.
                hub.watch(context.channel, sse: true)
                var headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
                headers.add(name: "Transfer-Encoding", value: "chunked")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil)
                context.writeAndFlush(
                    wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: ": watching\n\n")))), promise: nil)
            } else {
                respond(context, .notFound, #"{"error":"no such thing"}"#)
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ json: String) {
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(json.utf8.count)")])
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: json)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// A WebSocket watcher: greeted, and watching once it asks.
private final class WatcherHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let hub: Hub

    init(hub: Hub) {
        self.hub = hub
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            guard String(buffer: frame.unmaskedData).contains(#""watch""#) else { return }
            hub.watch(context.channel, sse: false)
            let ack = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: #"{"type":"watching"}"#))
            context.writeAndFlush(wrapOutboundOut(ack), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.write(webSocketErrorCode: code)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }
}
