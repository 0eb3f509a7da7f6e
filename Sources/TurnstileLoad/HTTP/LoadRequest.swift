import NIOCore
import NIOHTTP1
import Synchronization
import TurnstileReport

/// One request the engine sends, named for the statistics.
///
/// Each request has an identity: a connection builds the request's head once (target path, `Host`,
/// `Content-Length`) and reuses it every time the same request is sent again, as load traffic does.
public struct LoadRequest: Sendable {
    private static let nextID = Atomic<Int>(0)

    /// Tells requests apart for the connections' caches of built heads; a changed copy gets a new one.
    let id: Int
    /// The endpoint name results are counted under, e.g. `book`.
    public let endpoint: String
    public let method: HTTPMethod
    /// The path and query, appended to the target's base path.
    public let path: String
    public let headers: HTTPHeaders
    public let body: ByteBuffer?
    /// The statuses that count as expected; any other is a failure. Every 2xx unless said otherwise.
    public let expected: StatusSet
    /// Whether the request is built for one sending only (a scenario's request whose path changes each time): a
    /// connection then does not remember its encoding, which would only push out the ones that are sent again.
    public let isSentOnce: Bool
    /// How its answers are classified into outcomes as they are recorded, when its outcomes read bodies: the body
    /// is then kept.
    public let outcomes: AnswerOutcomes?
    /// The live-feed event the request causes, when it causes one: its sending and answer are recorded in the run's
    /// ``FeedLedger``.
    let publishes: Publication?

    /// Whether the answer's body is read as it is recorded (its outcomes, or the key of the event it published).
    var readsAnswer: Bool {
        if outcomes != nil { return true }
        if case .fromAnswer = publishes { return true }
        return false
    }

    public init(
        endpoint: String, method: HTTPMethod, path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil,
        expected: StatusSet = .success, isSentOnce: Bool = false, outcomes: AnswerOutcomes? = nil
    ) {
        self.init(
            endpoint: endpoint, method: method, path: path, headers: headers, body: body, expected: expected,
            isSentOnce: isSentOnce, outcomes: outcomes, publishes: nil)
    }

    init(
        endpoint: String, method: HTTPMethod, path: String, headers: HTTPHeaders, body: ByteBuffer?,
        expected: StatusSet, isSentOnce: Bool, outcomes: AnswerOutcomes?, publishes: Publication?
    ) {
        // A request sent once is never looked up by identity: it need not touch the counter the event loops share.
        id = isSentOnce ? -1 : Self.nextID.add(1, ordering: .relaxed).oldValue
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.expected = expected
        self.isSentOnce = isSentOnce
        self.outcomes = outcomes
        self.publishes = publishes
    }

    /// A request with a JSON body and, if given, a bearer token.
    public static func json(
        endpoint: String, _ method: HTTPMethod, _ path: String, body: String, token: String? = nil,
        expected: StatusSet = .success
    ) -> LoadRequest {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return LoadRequest(
            endpoint: endpoint, method: method, path: path, headers: headers, body: ByteBuffer(string: body),
            expected: expected)
    }
}

/// How a request names the live-feed event it causes.
enum Publication: Sendable {
    /// Known when it is sent (the bid's amount).
    case key(ScenarioValue)
    /// Read from its answer's JSON, `body` (an id the server gives it), when the answer is one it expects.
    case fromAnswer(ScenarioExpression)
}

/// What a connection builds from a request once and reuses each time the same request is sent again (its HTTP/1.1
/// bytes, its HTTP/2 header block), by request identity: bounded, emptied when full. A request built for one sending
/// is built and not remembered.
struct RequestBuilds<Value> {
    private var built: [Int: Value] = [:]

    /// `request`'s value, built by `build` unless remembered.
    mutating func value(for request: LoadRequest, build: () -> Value) -> Value {
        if request.isSentOnce { return build() }
        if let known = built[request.id] { return known }
        let value = build()
        if built.count >= LoadLimits.requestsEncodedRememberedMax { built.removeAll(keepingCapacity: true) }
        built[request.id] = value
        return value
    }
}

/// A response as the engine keeps it.
public struct LoadResponse: Sendable {
    public let status: Int
    /// The response's headers; over HTTP/2, only when the body was kept (load traffic reads status and size).
    public let headers: HTTPHeaders
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

    /// An answer that came before the whole request was written: it pairs with no request, so it is not read (a
    /// server may do this on purpose, refusing a body it will not read).
    static let answeredEarly = LoadError(.protocol, "the target answered before the request was sent in full")

    /// Whether this is ``answeredEarly``.
    var isAnsweredEarly: Bool { kind == .protocol && detail == Self.answeredEarly.detail }

    /// An answer whose body outgrew what the engine keeps (``HTTPOptions/answerBytesKeptMax``).
    static func answerLarger(than bytes: Int) -> LoadError {
        LoadError(
            .protocol, "the answer is larger than \(Format.bytes(UInt64(bytes))), the most kept (--max-answer-size)")
    }
}
