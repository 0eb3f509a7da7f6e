import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TurnstileLoad

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

/// A request written up to its last byte, waiting for ``release()``: the engine's own barrier connection
/// (`HTTPClientConnection` holding its last byte), used one request at a time.
public final class PreparedExchange: Sendable {
    private let connection: HTTPClientConnection
    private let pending: EventLoopFuture<LoadResponse>

    /// Tests wait long: a race's last exchange may be released only after hundreds of others were prepared.
    private static let timeouts = HTTPClientConnection.Timeouts(read: .seconds(60), response: .seconds(60))

    private init(connection: HTTPClientConnection, pending: EventLoopFuture<LoadResponse>) {
        self.connection = connection
        self.pending = pending
    }

    /// Connects to 127.0.0.1:`port` and writes everything of `request` but its last byte.
    public static func prepare(_ request: HTTPTestRequest, to port: Int) async throws -> PreparedExchange {
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let connection = try await HTTPClientConnection.connect(
            to: target, on: eventLoop, timeouts: timeouts, holdingRequestEnd: true
        ).get()
        var headers = HTTPHeaders(request.headers)
        headers.add(name: "Connection", value: "close")
        let loadRequest = LoadRequest(
            endpoint: "test", method: request.method, path: request.path, headers: headers,
            body: request.body.isEmpty ? nil : ByteBuffer(bytes: request.body))
        let (written, pending) = try await eventLoop.submit {
            let written = eventLoop.makePromise(of: Void.self)
            let pending = connection.send(loadRequest, timeouts: timeouts, keepBody: true, written: written)
            return (written.futureResult, pending)
        }.get()
        try await written.get()
        return PreparedExchange(connection: connection, pending: pending)
    }

    /// Writes the held-back last byte; the server may now answer.
    public func release() {
        let connection = self.connection
        connection.eventLoop.execute { _ = connection.releaseHeldBytes() }
    }

    /// Closes the connection without waiting.
    public func close() {
        connection.close()
    }

    /// Waits for the response, then closes the connection.
    public func response() async throws -> HTTPTestResponse {
        defer { close() }
        let response = try await pending.get()
        return HTTPTestResponse(
            status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
    }
}
