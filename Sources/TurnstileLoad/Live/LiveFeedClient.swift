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
public final class LiveFeedClient: FeedConnection {
    public let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// How a subscriber opens its feed, beyond where.
    public struct Options: Sendable {
        /// Headers of the upgrade request (auth).
        public var headers: HTTPHeaders
        /// A text message sent once upgraded (`{"subscribe": "prices"}`), for feeds that wait to be told.
        public var subscribeMessage: String?
        /// Whether the subscriber counts as subscribed only once a first message arrives (Turnstile's `subscribed`
        /// greeting: from then on nothing published is missed), rather than once upgraded.
        public var awaitsFirstMessage: Bool

        public init(headers: HTTPHeaders = [:], subscribeMessage: String? = nil, awaitsFirstMessage: Bool = true) {
            self.headers = headers
            self.subscribeMessage = subscribeMessage
            self.awaitsFirstMessage = awaitsFirstMessage
        }
    }

    /// Opens a feed and returns once it is subscribed: by default once its first message has arrived (see
    /// ``Options/awaitsFirstMessage``). Every message goes to `onEvent`, on the connection's event loop; it must not
    /// block. Throws when the server refuses the upgrade (an unknown id, a path that is not a feed), closes before
    /// it is subscribed, or is silent for `timeouts.read` while a first message is awaited.
    public static func subscribe(
        to target: LoadTarget, path: String, on eventLoop: any EventLoop,
        timeouts: HTTPClientConnection.Timeouts = .init(), options: Options = .init(),
        onEvent: @escaping @Sendable (LiveFeedEvent) -> Void
    ) async throws -> LiveFeedClient {
        let firstMessage = eventLoop.makePromise(of: Void.self)
        let opened = eventLoop.makePromise(of: (any Channel).self)
        let upgraded: EventLoopFuture<(any Channel)?>
        do {
            upgraded = try await ClientBootstrap(group: eventLoop).from(target.sources)
                .connectTimeout(timeouts.connect)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: target.host, port: target.port) { channel in
                    opened.succeed(channel)
                    return channel.eventLoop.makeCompletedFuture {
                        try target.tls?.add(to: channel, offering: .http1)
                        return try configure(
                            channel, path: target.basePath + path, host: target.hostHeader, headers: options.headers,
                            handler: {
                                LiveFeedClientHandler(
                                    firstMessage: firstMessage, subscribeMessage: options.subscribeMessage,
                                    awaitsFirstMessage: options.awaitsFirstMessage, onEvent: onEvent)
                            })
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
            case .success(let channel?):
                // Upgraded, the HTTP handlers gone: the subscription can begin.
                try? channel.pipeline.syncOperations.handler(type: LiveFeedClientHandler.self).begin()
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

    /// Sets up the HTTP upgrade request for `path`; the result is the upgraded channel, or nil when refused.
    private static func configure(
        _ channel: any Channel, path: String, host: String, headers extra: HTTPHeaders,
        handler: @escaping @Sendable () -> LiveFeedClientHandler
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
        for (name, value) in extra where name.lowercased() != "host" { headers.add(name: name, value: value) }
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
    private let subscribeMessage: String?
    private let awaitsFirstMessage: Bool
    private let onEvent: @Sendable (LiveFeedEvent) -> Void
    private var context: ChannelHandlerContext?
    private var closeSent = false
    private var ended = false
    private var subscribed = false

    init(
        firstMessage: EventLoopPromise<Void>, subscribeMessage: String?, awaitsFirstMessage: Bool,
        onEvent: @escaping @Sendable (LiveFeedEvent) -> Void
    ) {
        self.firstMessage = firstMessage
        self.subscribeMessage = subscribeMessage
        self.awaitsFirstMessage = awaitsFirstMessage
        self.onEvent = onEvent
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Once the upgrade is done and the HTTP handlers are gone: the subscribe message goes out, and a feed that need
    /// not greet is subscribed.
    func begin() {
        if let subscribeMessage { send(.text, ByteBuffer(string: subscribeMessage)) }
        if !awaitsFirstMessage, !subscribed, !ended {
            subscribed = true
            firstMessage.succeed()
        }
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
