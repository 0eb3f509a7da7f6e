import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A shop with three flaws a bad-input phase must find: `POST /orders` answers 500 when the body has no `quantity`
/// (a `KeyError` let through), drops the connection without a word when the body is not `application/json`, and
/// never answers a body over 1 MiB (it waits for a worker that never comes). Any
/// other mistake gets its 400; without `Authorization: Bearer good`, 401. `GET /health` answers 200.
///
/// Its OpenAPI document (`GET /openapi.json`) declares `GET /orders?limit=` at most 100, a bound the shop never
/// checks: a larger limit answers 500 (an index past the end). `GET /orders/{id}` answers 404 for any id but 1;
/// both need the token too.
public struct FragileShop: Sendable {
    public let port: Int

    public static func with<Result: Sendable>(
        _ body: @Sendable (FragileShop) async throws -> Result
    ) async throws -> Result {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FragileHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        return try await body(FragileShop(port: channel.localAddress?.port ?? 0))
    }
}

private struct Order: Decodable {
    let item: String
    let quantity: Int
}

private final class FragileHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var hanging = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            hanging = (head.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0) > 1 << 20
        case .body(var chunk):
            if !hanging { body.writeBuffer(&chunk) }
        case .end:
            guard let head, !hanging else { return }
            guard let (status, json) = answer(head, body) else {
                context.close(promise: nil)
                return
            }
            let headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(json.utf8.count)")])
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: json)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    /// `GET /orders?limit=N` (limit required, 1 or more; past 100 the shop fails) and `GET /orders/{id}`.
    private func listOrShow(_ uri: String) -> (HTTPResponseStatus, String) {
        let components = URLComponents(string: uri)
        if let id = components?.path.dropFirst("/orders/".count), components?.path.hasPrefix("/orders/") == true {
            return id == "1" ? (.ok, #"{"order":{"item":"a","quantity":1}}"#) : (.notFound, #"{"error":"no order"}"#)
        }
        guard components?.path == "/orders",
            let limit = components?.queryItems?.first(where: { $0.name == "limit" })?.value.flatMap({ Int($0) }),
            limit >= 1
        else { return (.badRequest, #"{"error":"limit: a number from 1"}"#) }
        guard limit <= 100 else { return (.internalServerError, #"{"error":"IndexError: list index out of range"}"#) }
        return (.ok, #"{"orders":[]}"#)
    }

    static let openAPI = """
        {"openapi": "3.1.0", "info": {"title": "fragile", "version": "1"},
         "security": [{"bearer": []}],
         "components": {
           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
           "schemas": {"Order": {"type": "object", "required": ["item", "quantity"], "additionalProperties": false,
             "properties": {"item": {"type": "string", "minLength": 1, "maxLength": 64},
                            "quantity": {"type": "integer", "minimum": 1, "maximum": 10}}}}},
         "paths": {
           "/health": {"get": {"security": [], "responses": {"200": {"description": "up"}}}},
           "/orders": {
             "get": {"parameters": [{"name": "limit", "in": "query", "required": true,
                                     "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
                     "responses": {"200": {"description": "orders"}}},
             "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                      "responses": {"201": {"description": "placed"}}}},
           "/orders/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": true,
                                                    "schema": {"type": "integer", "minimum": 1}}],
                                    "responses": {"200": {"description": "an order"}}}}}}
        """

    /// The answer, or nil to drop the connection without one.
    private func answer(_ head: HTTPRequestHead, _ body: ByteBuffer) -> (HTTPResponseStatus, String)? {
        if head.method == .GET, head.uri == "/health" { return (.ok, #"{"ok":true}"#) }
        if head.method == .GET, head.uri == "/openapi.json" { return (.ok, Self.openAPI) }
        if head.method == .GET, head.uri.hasPrefix("/orders") {
            guard head.headers.first(name: "Authorization") == "Bearer good" else {
                return (.unauthorized, #"{"error":"who are you?"}"#)
            }
            return listOrShow(head.uri)
        }
        guard head.method == .POST, head.uri == "/orders" else { return (.notFound, #"{"error":"no such page"}"#) }
        if head.headers.first(name: "Content-Type")?.hasPrefix("application/json") == false { return nil }
        guard head.headers.first(name: "Authorization") == "Bearer good" else {
            return (.unauthorized, #"{"error":"who are you?"}"#)
        }
        let data = Data(body.readableBytesView)
        guard head.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true,
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return (.badRequest, #"{"error":"send a JSON object"}"#) }
        guard object["quantity"] != nil else { return (.internalServerError, #"{"error":"KeyError: quantity"}"#) }
        guard let order = try? JSONDecoder().decode(Order.self, from: data), !order.item.isEmpty,
            order.item.count <= 64, (1...10).contains(order.quantity),
            order.item.unicodeScalars.allSatisfy({
                $0.value >= 32 && !(0x200B...0x202E).contains($0.value) && $0.value != 0xFEFF
            })
        else { return (.badRequest, #"{"error":"item and quantity 1...10, please"}"#) }
        return (.created, #"{"order":{"item":"\#(order.item)","quantity":\#(order.quantity)}}"#)
    }
}
