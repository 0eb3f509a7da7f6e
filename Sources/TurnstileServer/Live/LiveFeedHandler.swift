import NIOCore
import NIOWebSocket
import TurnstileCore

/// One live subscriber's connection, after the upgrade: writes the feed's messages, answers pings, honours the close
/// handshake, and closes the connection with a clear code when it must end.
///
/// The messages arrive as ready-made text frames (``LiveMessage``), the same bytes for every subscriber; they are
/// written through a ``LiveFrameWriter`` at the head of the pipeline, past the frame encoder. Pongs and close frames
/// go through the encoder as usual; both paths run on the event loop, so their order is kept.
///
/// - A subscriber more than ``Limits/liveBacklogBytesMax`` behind (the channel stops being writable) is closed with
///   1008 (policy violation), reason `slow consumer`.
/// - On graceful shutdown (the server's quiesce event) the feed is closed with 1001 (going away).
/// - When the store's change feed is interrupted (see ``LiveHub``), the feed is closed with 1013 (try again later).
/// - A closing feed waits ``Limits/liveCloseTimeoutSeconds`` for the client's close frame, then drops the
///   connection.
/// - A client that closes its side of the connection (EOF, with or without a close frame) leaves the hub at once and
///   its connection is closed: the server allows half-closed connections, so without this a dropped subscriber
///   would stay until the next message on its feed failed to reach it.
/// - Every ``Limits/livePingIntervalSeconds`` the feed pings its subscriber; one that sent nothing back by the next
///   ping is dropped.
/// - Pongs count against the same backlog as feed messages: a client that floods pings without reading the pongs
///   is closed with 1008 like any slow consumer, so it cannot make memory grow.
///
/// Everything here runs on the channel's event loop.
final class LiveFeedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Continuation, text, binary, close, ping and pong: the opcodes RFC 6455 defines.
    private static let opcodes: Set<UInt8> = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA]

    private let hub: LiveHub
    private let topic: LiveTopic
    private let ticket: LiveHub.Ticket
    private var context: ChannelHandlerContext?
    private let frameWriter = LiveFrameWriter()
    private var subscription: Int?
    private var closing = false
    private let pingInterval: TimeAmount
    private var pings: RepeatedTask?
    /// Whether a ping went out and nothing has come back since.
    private var awaitingAnswer = false
    /// Whether the server closes the connection as soon as it has echoed a client's close frame (RFC 6455 §7.1.1:
    /// the server closes the TCP connection first). Not over TLS: there a close that crosses the client's own left
    /// the connection in NIOSSL's five-second wait for a close_notify, so the client is given
    /// ``Limits/liveCloseTimeoutSeconds`` to close first.
    private let closesFirst: Bool

    /// - Parameter ticket: the hub's, from when the subscriber was admitted.
    /// - Parameter closesFirst: whether the connection is plain TCP, which the server closes at once after the close
    ///   handshake (see ``closesFirst``).
    init(
        hub: LiveHub, topic: LiveTopic, ticket: LiveHub.Ticket, closesFirst: Bool = true,
        pingInterval: TimeAmount = .seconds(Int64(Limits.livePingIntervalSeconds))
    ) {
        self.hub = hub
        self.topic = topic
        self.ticket = ticket
        self.closesFirst = closesFirst
        self.pingInterval = pingInterval
    }

    /// Bounds the connection's backlog, subscribes, and sends the `subscribed` message; from then on every change
    /// reaches this connection. A full hub, or a feed interrupted since the subscriber was admitted, closes it with
    /// 1013 (try again later).
    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            try context.pipeline.syncOperations.addHandlerNearSocket(frameWriter)
        } catch {
            context.close(promise: nil)
            return
        }
        let highWater = Limits.liveBacklogBytesMax
        try? context.channel.syncOptions?.setOption(
            .writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
        switch hub.subscribe(self, to: topic, on: context.eventLoop, with: ticket) {
        case .subscribed(let id): subscription = id
        case .full:
            close(code: .unknown(1013), reason: "too many live subscribers; try again later")
            return
        case .interrupted:
            closeInterrupted()
            return
        }
        send([LiveMessage.subscribed(to: topic)])
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        pings = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
            bound.value.pingOrDrop()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        unsubscribe()
        pings?.cancel()
        pings = nil
        self.context = nil
    }

    /// Drops a subscriber that did not answer the last ping; pings one that did.
    private func pingOrDrop() {
        guard let context, !closing else { return }
        if awaitingAnswer {
            unsubscribe()
            context.close(promise: nil)
            return
        }
        awaitingAnswer = true
        context.writeAndFlush(
            wrapOutboundOut(
                WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))),
            promise: nil)
    }

    /// Writes `frames` (complete text frames) and flushes them, or closes a subscriber that has fallen too far
    /// behind.
    func send(_ frames: [ByteBuffer]) {
        guard let context, !closing else { return }
        guard context.channel.isWritable else {
            close(code: .policyViolation, reason: "slow consumer: more than \(Limits.liveBacklogBytesMax) bytes behind")
            return
        }
        frameWriter.write(frames)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        awaitingAnswer = false
        // RFC 6455 §5.1–5.2: a client masks every frame, sets no reserved bit (no extension was negotiated) and uses
        // no reserved opcode; anything else fails the connection.
        guard frame.maskKey != nil, !frame.rsv1, !frame.rsv2, !frame.rsv3,
            Self.opcodes.contains(UInt8(webSocketOpcode: frame.opcode))
        else {
            close(
                code: .protocolError, reason: "not a valid client frame (RFC 6455: masked, no reserved bits or opcodes)"
            )
            return
        }
        switch frame.opcode {
        case .ping:
            guard !closing else { return }
            // A pong is output like any message: a client that does not read its pongs is a slow consumer.
            guard context.channel.isWritable else {
                close(
                    code: .policyViolation,
                    reason: "slow consumer: more than \(Limits.liveBacklogBytesMax) bytes behind")
                return
            }
            context.writeAndFlush(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            if closing {
                // The client answered our close: the handshake is complete.
                context.close(promise: nil)
            } else {
                // The client leaves: echo its code, then close the connection at once (plain TCP), or when the
                // client has closed its side (`inputClosed`) or after ``Limits/liveCloseTimeoutSeconds`` (TLS). Closing
                // first over TLS left the connection (and its place in the client's connection count) in NIOSSL's
                // five-second wait for a close_notify: with half-closure on, a close_notify that crosses our own is
                // not taken as the end of the shutdown.
                closing = true
                unsubscribe()
                var data = frame.unmaskedData
                let code = data.readSlice(length: 2) ?? ByteBuffer()
                let channel = context.channel
                let echoed = context.writeAndFlush(
                    wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                guard !closesFirst else {
                    echoed.whenComplete { _ in channel.close(promise: nil) }
                    return
                }
                context.eventLoop.scheduleTask(in: .seconds(Int64(Limits.liveCloseTimeoutSeconds))) {
                    channel.close(promise: nil)
                }
            }
        default:
            // A feed expects nothing else from its client; the decoder already bounds the frame size.
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            close(code: .goingAway, reason: "server shutting down")
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            // The client is gone (or will send nothing more): nothing can reach it once we close, so leave now.
            unsubscribe()
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        unsubscribe()
        context.fireChannelInactive()
    }

    /// Sends a close frame with `code` and `reason`, stops delivery, and drops the connection if the client does
    /// not answer within ``Limits/liveCloseTimeoutSeconds``.
    func close(code: WebSocketErrorCode, reason: String) {
        guard let context, !closing else { return }
        closing = true
        unsubscribe()
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .whenFailure { _ in }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(Int64(Limits.liveCloseTimeoutSeconds))) {
            channel.close(promise: nil)
        }
    }

    /// Closes the feed with 1013 (try again later): the store's change feed was interrupted, so this subscriber may
    /// have missed a change.
    func closeInterrupted() {
        close(code: .unknown(1013), reason: LiveHub.interruptedReason)
    }

    private func unsubscribe() {
        guard let id = subscription, let context else { return }
        subscription = nil
        hub.unsubscribe(id, from: topic, on: context.eventLoop)
    }
}

/// The head of a live connection's pipeline: writes ready-made frame bytes straight to the socket, so the one frame
/// built per message is shared by every subscriber instead of being encoded again for each. Everything written by
/// the handlers behind it passes through untouched.
final class LiveFrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(_ frames: [ByteBuffer]) {
        guard let context else { return }
        for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
        context.flush()
    }
}
