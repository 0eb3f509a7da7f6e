import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import TurnstileCore

/// Hummingbird's HTTP/1.1 channel, plus WebSocket upgrades for the live feeds.
///
/// The first request on a connection decides. A WebSocket upgrade for an existing feed becomes a live subscriber
/// (``LiveFeedHandler``). A refused one (an unknown item or event, a broken handshake, a store that cannot tell) is
/// answered with its problem+json and the connection closed: NIO consumes a request that asked to upgrade, so it
/// cannot go on to the router. Anything else, including an `Upgrade` header on any other path or for any other
/// protocol (`h2c`, say), is served by the router as usual. Until the first request arrives the connection is closed
/// on graceful shutdown and after the HTTP idle timeout, exactly as later idle periods are.
struct LiveHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Problem)
        case live(any Channel)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    let feeds: LiveFeeds
    let gate: ConnectionGate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard admit(channel) else { return channel.eventLoop.makeFailedFuture(ConnectionRefused()) }
        return setupAdmitted(channel: channel, logger: logger)
    }

    /// Whether the gate lets `channel` in; it is counted until it closes. A client that holds its share of
    /// connections gets no more: this one closes before it costs anything.
    func admit(_ channel: any Channel) -> Bool {
        let address = channel.remoteAddress
        guard gate.admit(address) else {
            channel.close(promise: nil)
            return false
        }
        let gate = self.gate
        channel.closeFuture.whenComplete { _ in gate.release(address) }
        return true
    }

    /// Sets up a connection the gate has let in.
    func setupAdmitted(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let firstRequest = FirstRequestGuard(idleTimeout: configuration.idleTimeout)
            let first = NIOLoopBound(firstRequest, eventLoop: channel.eventLoop)
            // Every HTTP request's head is checked and its bytes counted, for the connection's life; a live feed
            // leaves HTTP behind with its upgrade, and these with it.
            let budget = NIOLoopBound(RequestByteBudget(), eventLoop: channel.eventLoop)
            let policy = NIOLoopBound(RequestHeadPolicy(budget: budget.value), eventLoop: channel.eventLoop)
            let feeds = self.feeds
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: Limits.liveFrameBytesMax,
                shouldUpgrade: { channel, head in
                    let admission = channel.eventLoop.makePromise(of: Result<LiveFeeds.Admission, Problem>.self)
                    admission.completeWithTask { await feeds.admit(path: head.uri) }
                    return admission.futureResult.map { admission in
                        first.value.admission = admission
                        return (try? admission.get()) == nil ? nil : HTTPHeaders()
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .success(let admitted) = first.value.admission else {
                            throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget
                        }
                        let feed = LiveFeedHandler(
                            hub: feeds.hub, topic: admitted.topic, ticket: admitted.ticket,
                            closesFirst: !channel.pipeline.syncOperations.isTLS)
                        try channel.pipeline.syncOperations.addHandler(feed)
                        channel.pipeline.syncOperations.removeHandler(policy.value, promise: nil)
                        channel.pipeline.syncOperations.removeHandler(budget.value, promise: nil)
                        // A shutdown that began while the feed was looked up finds no feed handler to close.
                        if first.value.quiesced { feed.close(code: .goingAway, reason: "server shutting down") }
                        return .live(channel)
                    }
                })
            let configuration = self.configuration
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(configuration.additionalChannelHandlers())
                        try pipeline.addHandler(
                            HTTPConnectionStateHandler(
                                idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                        guard first.value.askedForFeed else { return .http(http) }
                        switch first.value.admission {
                        case .failure(let problem): return .refused(http, problem)
                        case .success, nil: return .refused(http, .invalidWebSocketHandshake)
                        }
                    }
                })
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade)
            pipeline.enablePipelining = false  // NIOAsyncChannel serialises requests
            pipeline.enableErrorHandling = false  // Hummingbird answers errors
            pipeline.enableResponseHeaderValidation = false  // HTTPTypes validated them already
            pipeline.decoderConfiguration.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            pipeline.decoderConfiguration.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            pipeline.decoderConfiguration.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let sync = channel.pipeline.syncOperations
            let negotiated = try sync.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            // The guard must see the first request head before the upgrade handler takes it; the responder, the
            // decoder's errors before the guard does.
            let parseErrors = NIOLoopBound(ParseErrorResponder(), eventLoop: channel.eventLoop)
            // First in the pipeline (after TLS, if any): it sees the bytes as they arrive, and its answer goes straight
            // to the socket.
            try sync.addHandlerNearSocket(budget.value)
            try sync.addHandlers(
                [policy.value, parseErrors.value, firstRequest],
                position: .before(try sync.handler(type: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)))
            negotiated.whenComplete { _ in  // on the channel's event loop
                channel.pipeline.syncOperations.removeHandler(first.value, promise: nil)
                channel.pipeline.syncOperations.removeHandler(parseErrors.value, promise: nil)
            }
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http): await handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let problem): try await Self.refuse(http, with: problem)
            case .live(let channel): try await channel.closeFuture.get()
            }
        } catch {
            logger.trace("connection ended early", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a refused upgrade with its problem and closes the connection.
    private static func refuse(
        _ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, with problem: Problem
    ) async throws {
        let body = try problem.body()
        var headers = problem.headers
        headers[.connection] = "close"
        headers[.contentLength] = String(body.readableBytes)
        try await http.executeThenClose { _, outbound in
            try await outbound.write(
                contentsOf: [
                    .head(HTTPResponse(status: problem.status, headerFields: headers)), .body(body), .end(nil),
                ])
        }
    }
}

/// Watches a connection until its first request head arrives, and closes the connection if the server shuts down or
/// the idle timeout passes first. It lets only a WebSocket upgrade for a live feed reach NIO's upgrade handler: from
/// any other request it takes the `Upgrade` header, so the router serves it (NIO's handler would consume it). Removed
/// once the first request is settled; from then on ``HTTPConnectionStateHandler`` or ``LiveFeedHandler`` take over.
private final class FirstRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let idleTimeout: TimeAmount?
    private var idleClose: Scheduled<Void>?
    private var headSeen = false
    /// Whether the server began shutting down after the head arrived, while the request was still being settled.
    private(set) var quiesced = false
    /// Whether the first request asked for a WebSocket upgrade of a live feed's path.
    private(set) var askedForFeed = false
    /// The upgrade's verdict, once the feed was looked up.
    var admission: Result<LiveFeeds.Admission, Problem>?

    init(idleTimeout: TimeAmount?) {
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let idleTimeout else { return }
        let channel = context.channel
        idleClose = context.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleClose?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !headSeen, case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        headSeen = true
        idleClose?.cancel()
        askedForFeed =
            head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
            && LiveFeeds.topic(path: head.uri) != nil
        if !askedForFeed { head.headers.remove(name: "upgrade") }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !headSeen {
            context.close(promise: nil)
        } else {
            if event is ChannelShouldQuiesceEvent { quiesced = true }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
