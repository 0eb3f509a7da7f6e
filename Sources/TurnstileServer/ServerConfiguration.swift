import NIOSSL
import TurnstileCore

/// How the service listens and authenticates. Every default is written down here.
public struct ServerConfiguration: Sendable {
    /// The address to listen on; loopback unless changed.
    public var host: String
    /// TLS for the listener (`serve --tls-cert --tls-key`), which then offers HTTP/2 and HTTP/1.1 by ALPN; nil for
    /// plain HTTP/1.1. In production TLS usually ends at a proxy in front (docs/deploy.md).
    public var tls: TLSConfiguration?
    /// The port to listen on; 0 picks a free one (see ``Server/onServerRunning``).
    public var port: Int
    /// The HS256 key that signs and verifies access tokens. Instances sharing a store must share it.
    public var jwtSecret: [UInt8]
    /// PBKDF2-HMAC-SHA256 rounds for new password hashes. Stored hashes carry their own count, so changing this
    /// never locks anyone out.
    public var passwordHashRounds: Int
    /// Password hashes waiting for a core; one more is answered 503 `overloaded`.
    public var passwordHashesQueuedMax: Int
    /// Whether event lists and details are answered from the read cache (invalidated by every write that changes
    /// them). On unless turned off, e.g. to measure the store alone.
    public var readCacheEnabled: Bool
    /// Each authenticated user's request budget; nil turns rate limiting off.
    public var rateLimit: RateLimit?
    /// Each client address's budget for sign-ups and logins together; nil turns it off.
    public var authRateLimit: RateLimit?
    /// Each client address's budget for public reads (event, product and item lists and details); off unless set,
    /// since load tests and benchmarks read from one address.
    public var readRateLimit: RateLimit?
    /// Whether per-client limits key on the last `X-Forwarded-For` address (the service runs behind a proxy that
    /// sets it) rather than on the connection's peer. Off unless set: a client could otherwise name any address.
    public var trustForwardedFor: Bool
    /// The most connections held at once (lowered to fit the open-file limit, see ``ConnectionGate``).
    public var connectionsMax: Int
    /// The most connections one client address holds at once.
    public var connectionsPerClientMax: Int
    /// How long a TLS connection may take to finish its handshake before it is closed
    /// (``Limits/tlsHandshakeSecondsMax`` unless changed).
    public var tlsHandshakeTimeout: Duration = .seconds(Limits.tlsHandshakeSecondsMax)
    /// The most HTTP/2 streams of the server that may wait for the rest of their request bodies
    /// (``Limits/http2UnfinishedStreamsMax`` unless changed).
    public var http2UnfinishedStreamsMax = Limits.http2UnfinishedStreamsMax

    /// The rounds used unless changed: about 30 ms of one core per hash here, slow enough to make guessing costly
    /// and fast enough for thousands of logins a minute.
    public static let passwordHashRoundsDefault = 100_000

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        jwtSecret: [UInt8],
        passwordHashRounds: Int = ServerConfiguration.passwordHashRoundsDefault,
        passwordHashesQueuedMax: Int = Limits.passwordHashesQueuedMax,
        readCacheEnabled: Bool = true,
        rateLimit: RateLimit? = .default,
        authRateLimit: RateLimit? = .authDefault,
        readRateLimit: RateLimit? = nil,
        trustForwardedFor: Bool = false,
        connectionsMax: Int = Limits.connectionsMaxDefault,
        connectionsPerClientMax: Int = Limits.connectionsPerClientMaxDefault,
        tls: TLSConfiguration? = nil
    ) {
        precondition(jwtSecret.count >= 32, "an HS256 secret needs at least 32 bytes")
        precondition(passwordHashRounds >= 1, "password hashing needs at least one round")
        self.host = host
        self.port = port
        self.tls = tls
        self.jwtSecret = jwtSecret
        self.passwordHashRounds = passwordHashRounds
        self.passwordHashesQueuedMax = passwordHashesQueuedMax
        self.readCacheEnabled = readCacheEnabled
        self.rateLimit = rateLimit
        self.authRateLimit = authRateLimit
        self.readRateLimit = readRateLimit
        self.trustForwardedFor = trustForwardedFor
        self.connectionsMax = connectionsMax
        self.connectionsPerClientMax = connectionsPerClientMax
    }
}

extension TLSConfiguration {
    /// A listener's TLS from a PEM certificate chain and its private key (`serve --tls-cert --tls-key`).
    public static func server(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        return makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    }
}
