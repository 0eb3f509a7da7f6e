import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TurnstileCore

/// An RFC 9457 problem: every error the service answers is one of these, as `application/problem+json`, with a
/// stable `code` for machines and a `detail` for people. Never a stack trace, never an HTML page.
///
/// ```json
/// {"type": "/problems/sold_out", "title": "Sold out", "status": 409, "code": "sold_out",
///  "detail": "Only 1 seat left; 2 requested.", "available": 1, "requested": 2}
/// ```
public struct Problem: Error, Equatable, Sendable, HTTPResponseError {
    public let status: HTTPResponse.Status
    /// A stable machine word, e.g. `sold_out`.
    public let code: String
    /// A short summary of the kind of problem.
    public let title: String
    /// What went wrong this time, for a person.
    public let detail: String
    /// Extra members that help a client act on the problem.
    public var available: Int? = nil
    public var requested: Int? = nil
    public var field: String? = nil
    public var balance: Int? = nil
    public var currentBidCents: Int? = nil
    public var minNextCents: Int? = nil
    /// The state a thing is in, when an action is not allowed from it.
    public var currentStatus: String? = nil
    /// Seconds after which a retry may succeed; sent as `Retry-After` too.
    public var retryAfterSeconds: Int? = nil
    /// The methods the path answers, sent as `Allow` with a 405.
    public var allowedMethods: [String]? = nil
    /// Whether the connection closes after this answer (`Connection: close`): the rest of the request cannot be
    /// trusted to arrive.
    public var closesConnection = false

    public init(status: HTTPResponse.Status, code: String, title: String, detail: String) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: try body()))
    }

    /// The response headers: the problem+json content type, and `Retry-After` when there is one.
    var headers: HTTPFields {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let allowedMethods { headers[.allow] = allowedMethods.joined(separator: ", ") }
        if closesConnection { headers[.connection] = "close" }
        return headers
    }

    /// The problem+json body.
    func body() throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONCoding.encoder.encode(Body(self)))
    }

    /// The JSON members, in RFC 9457's order first.
    private struct Body: Encodable {
        let type: String
        let title: String
        let status: Int
        let code: String
        let detail: String
        let available: Int?
        let requested: Int?
        let field: String?
        let balance: Int?
        let currentBidCents: Int?
        let minNextCents: Int?
        let currentStatus: String?

        enum CodingKeys: String, CodingKey {
            case type, title, status, code, detail, available, requested, field, balance
            case currentBidCents = "current_bid_cents"
            case minNextCents = "min_next_cents"
            case currentStatus = "current_status"
        }

        init(_ problem: Problem) {
            type = "/problems/\(problem.code)"
            title = problem.title
            status = problem.status.code
            code = problem.code
            detail = problem.detail
            available = problem.available
            requested = problem.requested
            field = problem.field
            balance = problem.balance
            currentBidCents = problem.currentBidCents
            minNextCents = problem.minNextCents
            currentStatus = problem.currentStatus
        }
    }
}

extension Problem {
    static let payloadTooLarge = Problem(
        status: .contentTooLarge, code: "payload_too_large", title: "Payload too large",
        detail: "The request body is larger than the service accepts.")

    static let requestTimeout: Problem = {
        var problem = Problem(
            status: .requestTimeout, code: "request_timeout", title: "Request timeout",
            detail: "The request body did not arrive within \(Limits.requestBodySecondsMax) s; the connection closes.")
        problem.closesConnection = true
        return problem
    }()

    static func unsupportedMediaType(_ contentType: String) -> Problem {
        Problem(
            status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
            detail: "The body must be JSON (Content-Type: application/json), not \(contentType).")
    }

    static let upgradeRequired = Problem(
        status: .upgradeRequired, code: "upgrade_required", title: "Upgrade required",
        detail: "This is a live feed: connect with a WebSocket (Connection: Upgrade, Upgrade: websocket).")

    static let invalidWebSocketHandshake = Problem(
        status: .badRequest, code: "bad_request", title: "Bad request",
        detail: "Not a valid WebSocket handshake: Sec-WebSocket-Key and Sec-WebSocket-Version: 13 are required.")

    /// The path is not echoed back: a client's raw bytes have no place in an answer that may be shown or logged.
    static let routeNotFound = Problem(
        status: .notFound, code: "not_found", title: "Not found",
        detail: "No endpoint at this path; GET / lists where to look.")

    /// A path the service has, asked with a method it does not answer there.
    static func methodNotAllowed(_ allowed: [String]) -> Problem {
        var problem = Problem(
            status: .methodNotAllowed, code: "method_not_allowed", title: "Method not allowed",
            detail: "This path answers \(allowed.joined(separator: ", ")) only; see Allow.")
        problem.allowedMethods = allowed
        return problem
    }

    static let internalError = Problem(
        status: .internalServerError, code: "internal_error", title: "Internal error",
        detail: "The service failed unexpectedly; the failure was logged.")
}
