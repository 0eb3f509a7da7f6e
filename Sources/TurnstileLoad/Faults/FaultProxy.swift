import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy that puts scheduled faults on the link between a service and what it depends on (its database, say):
/// added latency and jitter, a bandwidth limit, connection resets, a blackhole, closing after N bytes, and full
/// outages, each switched on and off on a timeline measured from ``start(listeningOn:)``.
///
/// ```swift
/// try await FaultProxy.run(
///     listeningOn: ("127.0.0.1", 0), upstream: ("127.0.0.1", 5432),
///     schedule: [try ScheduledFault(parsing: "outage@10s+10s")]
/// ) { proxy in
///     // point the service at 127.0.0.1:\(proxy.port) …
/// }
/// ```
public final class FaultProxy: Sendable {
    public let port: Int
    public let schedule: [ScheduledFault]
    private let server: any Channel
    private let startedAt: NIODeadline
    private let links = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let watcher = Mutex<RepeatedTask?>(nil)
    /// Faults put on by ``begin(_:)`` and not yet taken off, beside the schedule's.
    private let switched = Mutex<[Fault]>([])
    /// Faults seen beginning and ending, for the caller's progress line.
    private let onChange: @Sendable (String) -> Void

    private init(
        server: any Channel, port: Int, schedule: [ScheduledFault], onChange: @escaping @Sendable (String) -> Void
    ) {
        self.server = server
        self.port = port
        self.schedule = schedule
        self.onChange = onChange
        startedAt = .now()
    }

    /// Listens, forwards every connection to `upstream` under `schedule` while `body` runs, then stops, whether
    /// `body` returns or throws.
    public static func run<Result>(
        listeningOn listen: (host: String, port: Int), upstream: (host: String, port: Int),
        schedule: [ScheduledFault], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onChange: @escaping @Sendable (String) -> Void = { _ in }, _ body: (FaultProxy) async throws -> Result
    ) async throws -> Result {
        let proxy = try await start(
            listeningOn: listen, upstream: upstream, schedule: schedule, group: group, onChange: onChange)
        do {
            let result = try await body(proxy)
            await proxy.stop()
            return result
        } catch {
            await proxy.stop()
            throw error
        }
    }

    /// Listens, and forwards every connection to `upstream` under `schedule` until ``stop()``.
    public static func start(
        listeningOn listen: (host: String, port: Int), upstream: (host: String, port: Int),
        schedule: [ScheduledFault], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onChange: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> FaultProxy {
        let box = Mutex<FaultProxy?>(nil)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                guard let proxy = box.withLock({ $0 }) else { return inbound.close() }
                return proxy.accept(inbound, upstream: upstream)
            }
            .bind(host: listen.host, port: listen.port).get()
        let proxy = FaultProxy(
            server: server, port: server.localAddress?.port ?? listen.port, schedule: schedule, onChange: onChange)
        box.withLock { $0 = proxy }
        proxy.watchTransitions(on: server.eventLoop)
        return proxy
    }

    /// Stops listening and closes every link.
    public func stop() async {
        watcher.withLock { $0 }?.cancel()
        try? await server.close()
        for channel in links.withLock({ Array($0.values) }) { try? await channel.close() }
    }

    /// The time since the proxy started.
    public var elapsed: TimeAmount { .now() - startedAt }

    /// The faults in force now.
    func active(at now: NIODeadline = .now()) -> [Fault] {
        let elapsed = now - startedAt
        return schedule.filter { $0.start <= elapsed && elapsed < $0.end }.map(\.fault) + switched.withLock { $0 }
    }

    /// Puts `fault` on the link now, off the schedule, until ``end(_:)``: an outage or reset cuts the open links at
    /// once.
    public func begin(_ fault: Fault) {
        switched.withLock { $0.append(fault) }
        if [.outage, .reset].contains(fault) { resetAll() }
    }

    /// Takes a fault put on by ``begin(_:)`` off the link.
    public func end(_ fault: Fault) {
        switched.withLock { faults in
            if let index = faults.firstIndex(of: fault) { faults.remove(at: index) }
        }
    }

    /// Every 10 ms: resets the open links when an outage or reset window begins, and reports windows opening and
    /// closing.
    private func watchTransitions(on eventLoop: any EventLoop) {
        let previous = Mutex(Set<Int>())
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { [self] _ in
            let elapsed = self.elapsed
            let now = Set(schedule.indices.filter { schedule[$0].start <= elapsed && elapsed < schedule[$0].end })
            let before = previous.withLock { previous in
                defer { previous = now }
                return previous
            }
            for index in now.subtracting(before).sorted() {
                onChange("\(schedule[index].fault) begins (\(schedule[index]))")
                if [.outage, .reset].contains(schedule[index].fault) { resetAll() }
            }
            for index in before.subtracting(now).sorted() { onChange("\(schedule[index].fault) ends") }
        }
        watcher.withLock { $0 = task }
    }

    private func resetAll() {
        for channel in links.withLock({ Array($0.values) }) { Self.reset(channel) }
    }

    /// Closes with a TCP reset (SO_LINGER 0), as a dead host or firewall would.
    static func reset(_ channel: any Channel) {
        guard let socket = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func accept(_ inbound: any Channel, upstream: (host: String, port: Int)) -> EventLoopFuture<Void> {
        let faults = active()
        if faults.contains(.outage) || faults.contains(.reset) {
            Self.reset(inbound)
            return inbound.eventLoop.makeSucceededVoidFuture()
        }
        track(inbound)
        return ClientBootstrap(group: inbound.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .connect(host: upstream.host, port: upstream.port)
            .flatMapThrowing { outbound in
                // Both channels are on the inbound's event loop, where this runs.
                self.track(outbound)
                let (toUpstream, toClient) = FaultyForwarder.pair(inbound, outbound, proxy: self)
                try inbound.pipeline.syncOperations.addHandler(toUpstream)
                try outbound.pipeline.syncOperations.addHandler(toClient)
            }
            .flatMapError { _ in
                // The upstream is down: so is the link.
                Self.reset(inbound)
                return inbound.eventLoop.makeSucceededVoidFuture()
            }
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        links.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = links.withLock { $0.removeValue(forKey: id) } }
    }
}

/// Forwards what one side of a link reads to the other side, through the faults in force.
final class FaultyForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let partner: any Channel
    private let proxy: FaultProxy
    /// When the last chunk is due out, so that delayed chunks keep their order.
    private var lastDue = NIODeadline.uptimeNanoseconds(0)
    /// Bytes through this direction while a close-after fault is in force.
    private var bytesUnderCloseAfter = 0

    private init(partner: any Channel, proxy: FaultProxy) {
        self.partner = partner
        self.proxy = proxy
    }

    /// The two directions of the link between `inbound` (the client) and `outbound` (the upstream).
    static func pair(
        _ inbound: any Channel, _ outbound: any Channel, proxy: FaultProxy
    ) -> (
        FaultyForwarder, FaultyForwarder
    ) {
        (FaultyForwarder(partner: outbound, proxy: proxy), FaultyForwarder(partner: inbound, proxy: proxy))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = NIODeadline.now()
        var due = now
        let faults = proxy.active(at: now)
        for fault in faults {
            switch fault {
            case .outage, .reset:
                FaultProxy.reset(context.channel)
                FaultProxy.reset(partner)
                return
            case .blackhole:
                return
            case .closeAfter(let bytes):
                bytesUnderCloseAfter += buffer.readableBytes
                if bytesUnderCloseAfter > bytes {
                    context.close(promise: nil)
                    partner.close(promise: nil)
                    return
                }
            case .latency(let delay, let jitter):
                let spread = jitter.nanoseconds > 0 ? Int64.random(in: -jitter.nanoseconds...jitter.nanoseconds) : 0
                due = max(due, now + .nanoseconds(max(0, delay.nanoseconds + spread)))
            case .bandwidth(let rate):
                let transfer = TimeAmount.nanoseconds(Int64(buffer.readableBytes) * 1_000_000_000 / Int64(rate))
                due = max(due, max(lastDue, now) + transfer)
            }
        }
        if faults.allSatisfy({ if case .closeAfter = $0 { false } else { true } }) {
            bytesUnderCloseAfter = 0
        }
        due = max(due, lastDue)
        lastDue = due
        let partner = self.partner
        if due <= now {
            partner.writeAndFlush(buffer, promise: nil)
        } else {
            context.eventLoop.scheduleTask(deadline: due) { partner.writeAndFlush(buffer, promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // One side gone: the link is. Anything still delayed goes out first.
        let partner = self.partner
        if lastDue > .now() {
            context.eventLoop.scheduleTask(deadline: lastDue) { partner.close(promise: nil) }
        } else {
            partner.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
