import NIOCore
import NIOHTTP1
import NIOPosix
import TurnstileReport

/// A Server-Sent Events subscriber (`text/event-stream`): one GET whose answer never ends, each event's `data:` lines
/// handed on as one message. On NIO's HTTP/1.1 codec, no task per connection, like ``LiveFeedClient``.
public final class SSEFeedClient: FeedConnection {
    public let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens the stream and returns once the server answered 200 with `text/event-stream` (from then on nothing
    /// published is missed). Every event goes to `onEvent` as a message, on the connection's event loop. Throws when
    /// the server answers anything else, or nothing within `timeouts.read`.
    public static func subscribe(
        to target: LoadTarget, path: String, on eventLoop: any EventLoop,
        timeouts: HTTPClientConnection.Timeouts = .init(), headers: HTTPHeaders = [:],
        onEvent: @escaping @Sendable (LiveFeedEvent) -> Void
    ) async throws -> SSEFeedClient {
        let opened = eventLoop.makePromise(of: Void.self)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.basePath + path)
        head.headers.add(name: "Host", value: target.hostHeader)
        head.headers.add(name: "Accept", value: "text/event-stream")
        head.headers.add(name: "Cache-Control", value: "no-cache")
        for (name, value) in headers where !["host", "accept"].contains(name.lowercased()) {
            head.headers.replaceOrAdd(name: name, value: value)
        }
        let request = head
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop).from(target.sources)
                .connectTimeout(timeouts.connect)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try target.tls?.add(to: channel, offering: .http1)
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            SSEClientHandler(head: request, opened: opened, onEvent: onEvent))
                    }
                }
                .connect(host: target.host, port: target.port).get()
        } catch {
            opened.fail(error)
            throw LoadError(.connect, "\(error)")
        }
        let timeout = eventLoop.scheduleTask(in: timeouts.read) {
            opened.fail(LoadError(.timeout, "no answer on \(path) within \(timeouts.read)"))
        }
        defer { timeout.cancel() }
        do {
            try await opened.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return SSEFeedClient(channel: channel)
    }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Sends the stream's request, checks its answer, and cuts the body into events; on the connection's event loop.
///
/// An event is the `data:` lines before a blank line, joined by line breaks (`event:`, `id:`, `retry:` and comments
/// are read past). An event longer than ``LoadLimits/liveFrameBytesMax`` ends the stream, as a WebSocket frame that
/// long does: a hostile feed cannot grow the engine's memory.
final class SSEClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let opened: EventLoopPromise<Void>
    private let onEvent: @Sendable (LiveFeedEvent) -> Void
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var ended = false
    private var streaming = false

    init(head: HTTPRequestHead, opened: EventLoopPromise<Void>, onEvent: @escaping @Sendable (LiveFeedEvent) -> Void) {
        self.head = head
        self.opened = opened
        self.onEvent = onEvent
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data part: NIOAny) {
        switch unwrapInboundIn(part) {
        case .head(let response):
            let type = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
            guard response.status == .ok, type.hasPrefix("text/event-stream") else {
                end(context, "answered \(response.status.code) \(type.isEmpty ? "" : "(\(type)) ")rather than a stream")
                return
            }
            streaming = true
            opened.succeed()
        case .body(let buffer):
            guard streaming else { return }
            let now = NIODeadline.now()
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n") {
                    take(line: line, at: now)
                    line.removeAll(keepingCapacity: true)
                } else if byte != UInt8(ascii: "\r") {
                    line.append(byte)
                }
                if line.count + data.count > LoadLimits.liveFrameBytesMax {
                    end(context, "an event longer than \(LoadLimits.liveFrameBytesMax) bytes")
                    return
                }
            }
        case .end:
            end(context, "the server ended the stream")
        }
    }

    /// One line of the stream: a blank one dispatches the event gathered so far.
    private func take(line: [UInt8], at instant: NIODeadline) {
        if line.isEmpty {
            if hasData { onEvent(.message(ByteBuffer(bytes: data), receivedAt: instant)) }
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        let field = line.prefix { $0 != UInt8(ascii: ":") }
        guard field.elementsEqual("data".utf8) else { return }
        var value = line.dropFirst(field.count + 1)
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data += value
        hasData = true
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(nil, "connection dropped")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(context, "\(error)")
    }

    private func end(_ context: ChannelHandlerContext?, _ reason: String) {
        guard !ended else { return }
        ended = true
        opened.fail(LoadError(.protocol, "the stream ended before it began: \(reason)"))
        onEvent(.closed(code: nil, reason: reason))
        context?.close(promise: nil)
    }
}
