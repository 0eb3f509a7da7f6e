import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request, as a test describes it.
///
/// Tests send requests two ways: ``send(_:to:)`` for plain set-up calls, and ``PreparedExchange`` for races, where
/// each request is written up to its last byte first and the last bytes of many requests are then released
/// together, so the server sees them all at once.
public struct HTTPTestRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A request with a JSON body (and, if given, a bearer token).
    public static func json(
        _ method: HTTPMethod, _ path: String, _ object: [String: any Sendable], token: String? = nil,
        headers: [(String, String)] = []
    ) -> HTTPTestRequest {
        // Test fixtures are plain JSON values; failing to encode one is a bug in the test.
        let body = try! JSONSerialization.data(withJSONObject: object)
        var allHeaders = [("Content-Type", "application/json")] + headers
        if let token { allHeaders.append(("Authorization", "Bearer \(token)")) }
        return HTTPTestRequest(method, path, headers: allHeaders, body: Array(body))
    }
}

/// A response as a test sees it.
public struct HTTPTestResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: [UInt8]

    /// The body as a JSON object (empty if it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends one request on a new connection and waits for the response.
public func send(_ request: HTTPTestRequest, to port: Int) async throws -> HTTPTestResponse {
    let exchange = try await PreparedExchange.prepare(request, to: port)
    exchange.release()
    return try await exchange.response()
}

/// A request written up to its last byte, waiting for ``release()``.
public final class PreparedExchange: Sendable {
    private let channel: any Channel
    private let responsePromise: EventLoopPromise<HTTPTestResponse>

    private init(channel: any Channel, responsePromise: EventLoopPromise<HTTPTestResponse>) {
        self.channel = channel
        self.responsePromise = responsePromise
    }

    /// Connects to 127.0.0.1:`port` and writes everything of `request` but its last byte.
    ///
    /// The request goes through NIO's `HTTPRequestEncoder`; ``LastByteHoldback``, below it, keeps the last byte of
    /// the encoded bytes until ``release()``. Holding back exactly one byte, wherever it falls, makes the release
    /// tight, and works for requests with and without a body.
    public static func prepare(_ request: HTTPTestRequest, to port: Int) async throws -> PreparedExchange {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: HTTPTestResponse.self)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LastByteHoldback())
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()

        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: String(request.body.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if !request.body.isEmpty {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: request.body))), promise: nil)
        }
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        return PreparedExchange(channel: channel, responsePromise: promise)
    }

    /// Writes the held-back last byte; the server may now answer.
    public func release() {
        channel.triggerUserOutboundEvent(LastByteHoldback.Release(), promise: nil)
    }

    /// Closes the connection without waiting.
    public func close() {
        channel.close(promise: nil)
    }

    /// Waits for the response, then closes the connection.
    public func response() async throws -> HTTPTestResponse {
        defer { channel.close(promise: nil) }
        return try await responsePromise.futureResult.get()
    }
}

/// Passes encoded bytes to the socket but keeps the very last byte written until a ``Release`` event arrives.
final class LastByteHoldback: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    struct Release {}

    private var held: ByteBuffer?
    private var isReleased = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !isReleased, case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes > 0 else {
            context.write(data, promise: promise)
            return
        }
        if let held {
            context.write(wrapOutboundOut(.byteBuffer(held)), promise: nil)
        }
        let allButLast = buffer.readSlice(length: buffer.readableBytes - 1)!
        held = buffer
        context.write(wrapOutboundOut(.byteBuffer(allButLast)), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Release else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        isReleased = true
        if let held {
            self.held = nil
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(held)), promise: promise)
        } else {
            promise?.succeed()
        }
    }
}

/// Gathers one response and fulfils the promise with it; a connection that ends first fails it.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<HTTPTestResponse>
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var isComplete = false

    init(promise: EventLoopPromise<HTTPTestResponse>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(let buffer): body += buffer.readableBytesView
        case .end:
            guard let head, !isComplete else { return }
            isComplete = true
            promise.succeed(HTTPTestResponse(status: Int(head.status.code), headers: head.headers, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error) {
        guard !isComplete else { return }
        isComplete = true
        promise.fail(error)
    }
}
