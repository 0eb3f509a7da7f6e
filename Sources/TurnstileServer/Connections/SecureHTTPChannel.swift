import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS
import TurnstileCore

/// TLS, then HTTP/2 or HTTP/1.1 as the client chose in the handshake (ALPN): HTTP/2 through Hummingbird's channel,
/// HTTP/1.1 (with the WebSocket live feeds, which HTTP/2 does not carry here) through ``LiveHTTPChannel``. A client
/// that offers no protocol gets HTTP/1.1. Both count against the same connection bounds.
///
/// A connection that has not finished its handshake and agreed on a protocol within the handshake timeout is closed
/// (a silent socket, half a ClientHello), and an HTTP/2 connection told to go away that keeps its streams open is
/// closed after ``Limits/http2GracefulCloseSecondsMax``: neither can hold a connection slot for ever.
struct SecureHTTPChannel: ServerChildChannel {
    enum Negotiated: Sendable {
        case http1(LiveHTTPChannel.Value)
        case http2(HTTP2Channel.Value)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let http1: LiveHTTPChannel
    let http2: HTTP2Channel
    /// The server's TLS, offering `h2` and `http/1.1`.
    let context: NIOSSLContext
    /// How long the handshake and the protocol's agreement may take.
    let handshakeTimeout: TimeAmount
    /// What the server's HTTP/2 connections may hold together.
    let budgets: HTTP2Budgets

    init(
        http1: LiveHTTPChannel, tls: TLSConfiguration, handshakeTimeout: TimeAmount, budgets: HTTP2Budgets
    ) throws {
        var tls = tls
        tls.applicationProtocols = NIOHTTP2SupportedALPNProtocols
        context = try NIOSSLContext(configuration: tls)
        self.http1 = http1
        self.handshakeTimeout = handshakeTimeout
        self.budgets = budgets
        http2 = HTTP2Channel(
            responder: http1.responder,
            configuration: .init(
                idleTimeout: http1.configuration.idleTimeout.map { Duration.nanoseconds($0.nanoseconds) },
                gracefulCloseTimeout: .seconds(Limits.http2GracefulCloseSecondsMax),
                streamConfiguration: HTTP1Channel.Configuration(additionalChannelHandlers: [HTTP2StreamBudget()])))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard http1.admit(channel) else {
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        let (http1, http2, handshakeTimeout, budgets) = (self.http1, self.http2, self.handshakeTimeout, self.budgets)
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: context))
            let alpn = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
                switch result {
                case .negotiated("h2"):
                    // The budget sits right behind NIOHTTP2's handler, where it sees the connection's frames, the
                    // GOAWAYs Hummingbird's connection manager sends among them.
                    http2.setup(channel: channel, logger: logger).flatMapThrowing { value in
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(
                            HTTP2Budget(budgets: budgets),
                            position: .after(try sync.handler(type: NIOHTTP2Handler.self)))
                        return .http2(value)
                    }
                default: http1.setupAdmitted(channel: channel, logger: logger).map { .http1($0) }
                }
            }
            try sync.addHandler(alpn)
            let deadline = channel.eventLoop.scheduleTask(in: handshakeTimeout) { channel.close(promise: nil) }
            alpn.protocolNegotiationResult.whenComplete { _ in deadline.cancel() }
            return Value(negotiated: alpn.protocolNegotiationResult, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.trace("connection ended during the TLS handshake", metadata: ["error": "\(error)"])
        }
    }
}
