import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import TurnstileReport

/// What a live-feed connection reports, on its event loop.
public enum LiveFeedEvent: Sendable {
    /// A text message, with the instant its frame was read.
    case message(ByteBuffer, receivedAt: NIODeadline)
    /// The connection ended: with the server's close code and reason, or nil when it was dropped without one.
    case closed(code: WebSocketErrorCode?, reason: String)
}

/// A WebSocket subscriber to one live feed (`/api/v1/items/{id}/live`, `/api/v1/events/{id}/live`, or any path that
/// streams text messages), on NIO's own WebSocket codec: no task per connection, so thousands fit in one process.
public final class LiveFeedClient: Sendable {
    public let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens a feed and returns once its first message has arrived (Turnstile's `subscribed` message: from then
    /// on nothing published is missed). That first message and every later event go to `onEvent`, on the
    /// connection's event loop; it must not block. Throws when the server refuses the upgrade (an unknown id, a
    /// path that is not a feed), closes before its first message, or is silent for `timeouts.read`.
    public static func subscribe(
        to target: LoadTarget, path: String, on eventLoop: any EventLoop,
        timeouts: HTTPClientConnection.Timeouts = .init(),
        onEvent: @escaping @Sendable (LiveFeedEvent) -> Void
    ) async throws -> LiveFeedClient {
        let firstMessage = eventLoop.makePromise(of: Void.self)
        let opened = eventLoop.makePromise(of: (any Channel).self)
        let upgraded: EventLoopFuture<(any Channel)?>
        do {
            upgraded = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeouts.connect)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: target.host, port: target.port) { channel in
                    opened.succeed(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        try target.tls?.add(to: channel, offering: .http1)
                        return try configure(
                            channel, path: target.basePath + path, host: target.hostHeader,
                            handler: { LiveFeedClientHandler(firstMessage: firstMessage, onEvent: onEvent) })
                    }
                }
        } catch {
            opened.fail(error)
            throw LoadError(.connect, "\(error)")
        }
        // Whatever stops the first message from coming ends the wait: a refusal, a failed upgrade, silence.
        upgraded.whenComplete { result in
            switch result {
            case .success(nil):
                firstMessage.fail(LoadError(.protocol, "the server refused the WebSocket upgrade for \(path)"))
            case .success: break
            case .failure(let error): firstMessage.fail(error)
            }
        }
        let timeout = eventLoop.scheduleTask(in: timeouts.read) {
            firstMessage.fail(LoadError(.timeout, "no message on \(path) within \(timeouts.read)"))
        }
        defer { timeout.cancel() }
        do {
            try await firstMessage.futureResult.get()
        } catch {
            opened.futureResult.whenSuccess { $0.close(promise: nil) }
            throw error
        }
        return LiveFeedClient(channel: try await opened.futureResult.get())
    }

    /// Closes the feed: sends a close frame (1000) and drops the connection once the server answers.
    public func close() {
        channel.eventLoop.execute { [channel] in
            guard let handler = try? channel.pipeline.syncOperations.handler(type: LiveFeedClientHandler.self) else {
                return
            }
            handler.close()
        }
    }

    /// Closes every feed of `clients` and returns once their connections are closed: a server that counts each
    /// client's connections (Turnstile's does) has them back before the next phase opens its own. A connection the
    /// server has not let go of within `patience` (its close answered) is dropped.
    public static func closeAll(_ clients: [LiveFeedClient], patience: TimeAmount = .seconds(2)) async {
        for client in clients {
            client.close()
            let channel = client.channel
            channel.eventLoop.scheduleTask(in: patience) { channel.close(promise: nil) }
        }
        for client in clients { try? await client.channel.closeFuture.get() }
    }

    /// Sets up the HTTP upgrade request for `path`; the result is the upgraded channel, or nil when refused.
    private static func configure(
        _ channel: any Channel, path: String, host: String, handler: @escaping @Sendable () -> LiveFeedClientHandler
    ) throws -> EventLoopFuture<(any Channel)?> {
        let upgrader = NIOTypedWebSocketClientUpgrader<(any Channel)?>(
            maxFrameSize: LoadLimits.liveFrameBytesMax,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler())
                    return channel
                }
            })
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<(any Channel)?>(
            upgradeRequestHead: head, upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(nil) })
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // The server's first frames may arrive in the same read as its 101: they must reach the frame decoder.
        pipeline.leftOverBytesStrategy = .forwardBytes
        return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
    }
}

/// Reports a feed's frames, answers pings, and completes the close handshake; on the connection's event loop.
final class LiveFeedClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let firstMessage: EventLoopPromise<Void>
    private let onEvent: @Sendable (LiveFeedEvent) -> Void
    private var context: ChannelHandlerContext?
    private var closeSent = false
    private var ended = false
    private var subscribed = false

    init(firstMessage: EventLoopPromise<Void>, onEvent: @escaping @Sendable (LiveFeedEvent) -> Void) {
        self.firstMessage = firstMessage
        self.onEvent = onEvent
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            onEvent(.message(frame.data, receivedAt: .now()))
            if !subscribed {
                subscribed = true
                firstMessage.succeed()
            }
        case .ping:
            send(.pong, frame.data)
        case .connectionClose:
            var data = frame.data
            let code = data.readWebSocketErrorCode()
            let reason = data.readString(length: data.readableBytes) ?? ""
            end(code: code, reason: reason)
            if !closeSent {
                // Echo the server's code, then leave.
                send(.connectionClose, data.getSlice(at: 0, length: 0) ?? ByteBuffer(), code: code)
            }
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(code: nil, reason: "connection dropped")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(code: nil, reason: "\(error)")
        context.close(promise: nil)
    }

    /// Starts the close handshake from this side.
    func close() {
        guard !closeSent else { return }
        send(.connectionClose, ByteBuffer(), code: .normalClosure)
    }

    private func end(code: WebSocketErrorCode?, reason: String) {
        guard !ended else { return }
        ended = true
        if !subscribed {
            firstMessage.fail(LoadError(.protocol, "the feed closed before its first message: \(reason)"))
        }
        onEvent(.closed(code: code, reason: reason))
    }

    /// Writes a masked frame, as a client must.
    private func send(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, code: WebSocketErrorCode? = nil) {
        guard let context else { return }
        var data = context.channel.allocator.buffer(capacity: payload.readableBytes + 2)
        if let code { data.write(webSocketErrorCode: code) }
        data.writeImmutableBuffer(payload)
        if opcode == .connectionClose { closeSent = true }
        context.writeAndFlush(
            wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)), promise: nil)
    }
}
