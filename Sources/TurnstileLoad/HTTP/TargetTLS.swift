import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import TurnstileReport

/// How the engine checks an `https://` target's certificate.
public struct TLSOptions: Sendable, Equatable {
    /// A PEM file of the certificates to trust instead of the system's (a private CA, a self-signed service).
    public var caFile: String?
    /// Skip certificate verification altogether: the report says so.
    public var insecure: Bool

    public init(caFile: String? = nil, insecure: Bool = false) {
        self.caFile = caFile
        self.insecure = insecure
    }
}

/// TLS for one `https://` target: its contexts, made once and shared by every connection to it (making one reads the
/// trust store, which is far too slow to do per connection), and the name to send as SNI and to verify.
public final class TargetTLS: Sendable {
    /// For requests: offers the HTTP versions asked for by ALPN.
    private let requestContext: NIOSSLContext
    /// For WebSockets and raw HTTP/1.1 bytes: offers HTTP/1.1 only.
    private let http1Context: NIOSSLContext
    /// The host as SNI and the certificate's name; nil for an IP address, which SNI cannot carry.
    let serverHostname: String?
    public let options: TLSOptions

    /// What a connection offers in its handshake (ALPN).
    enum Offer {
        /// The versions the target's ``HTTPOptions`` allow.
        case requests
        /// HTTP/1.1 alone: a WebSocket upgrade or hand-written HTTP/1.1 bytes.
        case http1
    }

    init(host: String, options: TLSOptions, http version: HTTPOptions.Version = .auto) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = options.caFile { configuration.trustRoots = .file(caFile) }
        if options.insecure { configuration.certificateVerification = .none }
        configuration.applicationProtocols = ["http/1.1"]
        http1Context = try NIOSSLContext(configuration: configuration)
        configuration.applicationProtocols =
            switch version {
            case .auto: ["h2", "http/1.1"]
            case .http1: ["http/1.1"]
            case .http2: ["h2"]
            }
        requestContext = try NIOSSLContext(configuration: configuration)
        let isAddress = host.contains(":") || host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        serverHostname = isAddress ? nil : host
        self.options = options
    }

    /// Adds TLS at the front of `channel`'s pipeline: everything after it reads and writes plain HTTP. With
    /// `handshake`, completes it once the handshake is done, or fails it with a ``LoadError`` of kind `tls` that says
    /// why. On the channel's event loop.
    func add(to channel: any Channel, offering offer: Offer, handshake: EventLoopPromise<Void>? = nil) throws {
        let context = offer == .requests ? requestContext : http1Context
        try channel.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: context, serverHostname: serverHostname))
        if let handshake {
            try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(done: handshake))
        }
    }

    /// Turns the handshake's end into the promise: its completion event, or the first error.
    private final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny

        private let done: EventLoopPromise<Void>

        init(done: EventLoopPromise<Void>) {
            self.done = done
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            context.fireUserInboundEventTriggered(event)
            if case TLSUserEvent.handshakeCompleted = event {
                done.succeed()
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(LoadError(.tls, Self.describe(error)))
            context.fireErrorCaught(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.fail(LoadError(.tls, "the connection closed during the handshake"))
            context.fireChannelInactive()
        }

        /// BoringSSL's reason, as one line: `certificate verify failed`, `wrong version number`.
        static func describe(_ error: any Error) -> String {
            if case NIOSSLError.handshakeFailed(let reason) = error {
                let text = "\(reason)"
                for known in ["CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER", "TLSV1_ALERT", "SSLV3_ALERT"]
                where text.contains(known) {
                    return known.lowercased().replacingOccurrences(of: "_", with: " ")
                        + (known == "CERTIFICATE_VERIFY_FAILED"
                            ? " (not signed by an authority trusted here, or not for this host)" : "")
                }
                return text
            }
            return "\(error)"
        }
    }
}
