import NIOCore
import TurnstileReport
import NIOHTTP1

/// One request the engine sends, named for the statistics.
public struct LoadRequest: Sendable {
    /// The endpoint name results are counted under, e.g. `book`.
    public var endpoint: String
    public var method: HTTPMethod
    /// The path and query, appended to the target's base path.
    public var path: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(endpoint: String, method: HTTPMethod, path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) {
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A request with a JSON body and, if given, a bearer token.
    public static func json(
        endpoint: String, _ method: HTTPMethod, _ path: String, body: String, token: String? = nil
    ) -> LoadRequest {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return LoadRequest(endpoint: endpoint, method: method, path: path, headers: headers, body: ByteBuffer(string: body))
    }
}

/// A response as the engine keeps it.
public struct LoadResponse: Sendable {
    public let status: Int
    /// The body, when the request asked for it to be kept; otherwise empty.
    public let body: ByteBuffer
    /// Body bytes received, kept or not.
    public let bodyByteCount: Int
}

/// A request that ended without a response.
public struct LoadError: Error, CustomStringConvertible {
    public typealias Kind = EndpointStats.ErrorKind

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}
