import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import TurnstileCore
import TurnstileStore

/// The Turnstile HTTP service over any store.
///
/// ```swift
/// let store = try await SQLiteStore.open(SQLiteStoreConfiguration(path: "turnstile.sqlite"))
/// try await Server(configuration: configuration, store: store).run()
/// ```
public struct Server<Store: TurnstileStore>: Sendable {
    public let configuration: ServerConfiguration
    public let store: Store
    public let logger: Logger
    /// Called with the bound port once the server listens (useful with port 0).
    public let onServerRunning: @Sendable (Int) async -> Void

    public init(
        configuration: ServerConfiguration, store: Store, logger: Logger = Logger(label: "turnstile"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// Every HTTP route, behind the problem+json middleware (live feeds answer plain requests with 404 or 426).
    public func router() -> Router<TurnstileRequestContext> {
        router(feeds: LiveFeeds(store: store, hub: LiveHub()), gate: gate())
    }

    /// The connection bounds of ``configuration``.
    private func gate() -> ConnectionGate {
        ConnectionGate(
            connectionsMax: configuration.connectionsMax, connectionsPerClientMax: configuration.connectionsPerClientMax
        )
    }

    private func router(feeds: LiveFeeds, gate: ConnectionGate) -> Router<TurnstileRequestContext> {
        let tokens = TokenAuthority(secret: configuration.jwtSecret, audience: store.identity)
        let hasher = PasswordHasher(
            rounds: configuration.passwordHashRounds, queuedMax: configuration.passwordHashesQueuedMax)
        let authenticate = BearerAuthMiddleware(tokens: tokens, store: store)
        let rateLimit = configuration.rateLimit.map { RateLimitMiddleware(limiter: RateLimiter($0)) }
        let trustForwardedFor = configuration.trustForwardedFor
        func perClient(_ limit: RateLimit?) -> ClientRateLimitMiddleware? {
            limit.map { ClientRateLimitMiddleware(limiter: RateLimiter($0), trustForwardedFor: trustForwardedFor) }
        }
        let authLimit = perClient(configuration.authRateLimit)
        let readLimit = perClient(configuration.readRateLimit)
        let store = self.store
        let cache = configuration.readCacheEnabled ? EventReadCache { store.commitSequence } : nil

        let router = Router(context: TurnstileRequestContext.self)
        let metrics = ServiceMetrics(writes: store.writeActivity, hub: feeds.hub, connections: gate)
        router.add(middleware: ProblemMiddleware(metrics: metrics))
        router.add(middleware: WholeRequestMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        /// A group of routes that spend `limit`, when one is set.
        func spending(
            _ limit: ClientRateLimitMiddleware?, _ group: RouterGroup<TurnstileRequestContext>
        ) -> RouterGroup<TurnstileRequestContext> {
            limit.map { group.add(middleware: $0) } ?? group
        }
        // Authenticated routes need a bearer token, and spend its user's request budget.
        let authenticated = router.group().add(middleware: authenticate)
        let routes = EndpointRoutes([
            .open: router.group(), .signIn: spending(authLimit, router.group()),
            .publicRead: spending(readLimit, router.group()),
            .authenticated: rateLimit.map { authenticated.add(middleware: $0) } ?? authenticated,
        ])
        OpsRoutes(store: store, metrics: metrics).register(on: routes)
        AuthRoutes(store: store, hasher: hasher, tokens: tokens).register(on: routes)
        EventRoutes(store: store, cache: cache).register(on: routes)
        BookingRoutes(store: store).register(on: routes)
        ProductRoutes(store: store).register(on: routes)
        CreditRoutes(store: store).register(on: routes)
        ItemRoutes(store: store).register(on: routes)
        LiveRoutes(feeds: feeds).register(on: routes)
        return router
    }

    /// The application: the HTTP server with its live feeds, and the store run as a service beside it. On graceful
    /// shutdown the server stops accepting, closes live feeds (1001) and finishes in-flight requests first; then the
    /// store finishes its accepted writes and closes.
    public func application() -> some ApplicationProtocol {
        let onServerRunning = self.onServerRunning
        let feeds = LiveFeeds(store: store, hub: LiveHub(feed: store.changes))
        let gate = gate()
        if gate.connectionsMax < configuration.connectionsMax {
            logger.notice(
                "the open-file limit allows \(gate.connectionsMax) connections, not \(configuration.connectionsMax)")
        }
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(Limits.httpIdleTimeoutSeconds)))
        let budgets = HTTP2Budgets(unfinishedStreamsMax: configuration.http2UnfinishedStreamsMax)
        return Application(
            responder: HeadResponder(base: router(feeds: feeds, gate: gate).buildResponder()),
            server: HTTPServerBuilder { [tls = configuration.tls, configuration, budgets] responder in
                let channel = LiveHTTPChannel(responder: responder, configuration: http1, feeds: feeds, gate: gate)
                guard let tls else { return channel }
                return try SecureHTTPChannel(
                    http1: channel, tls: tls, handshakeTimeout: TimeAmount(configuration.tlsHandshakeTimeout),
                    budgets: budgets)
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "turnstile",
                availableConnectionsDelegate: gate.availability),
            services: [store],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Runs the service until SIGINT or SIGTERM, then shuts down gracefully (see ``application()``).
    public func run() async throws {
        try await application().runService()
    }
}
