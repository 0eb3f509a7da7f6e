import Foundation
import NIOCore
import NIOHTTP1

extension [ScenarioFile.Header] {
    /// The users' headers as `scope` renders them. A header joins once every value it reads is set: provisioning's
    /// registration goes without the token its login will capture.
    func rendered(in scope: some ScenarioScope) throws(ScenarioError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for header in self where header.reads.allSatisfy({ scope.value(of: $0) != nil }) {
            headers.replaceOrAdd(name: header.name, value: try header.value.render(in: scope))
        }
        return headers
    }
}

extension ScenarioFile.Request {
    /// The request to send for `scope`, carrying `userHeaders` (the request's own headers win).
    /// `isSentOnce` when it will not be sent again as is (see ``LoadRequest/isSentOnce``).
    func render(
        in scope: some ScenarioScope, userHeaders: [ScenarioFile.Header], isSentOnce: Bool = false
    )
        throws(ScenarioError) -> LoadRequest
    {
        var headers = try userHeaders.rendered(in: scope)
        for name in droppedHeaders { headers.remove(name: name) }
        for header in self.headers {
            headers.replaceOrAdd(name: header.name, value: try header.value.render(in: scope))
        }
        var body: ByteBuffer?
        if let payload {
            let contentType: String
            (body, contentType) = try payload.render(in: scope)
            if !headers.contains(name: "Content-Type") { headers.add(name: "Content-Type", value: contentType) }
        }
        return LoadRequest(
            endpoint: try name.render(in: scope), method: method, path: try renderPath(in: scope), headers: headers,
            body: body, expected: expected, isSentOnce: isSentOnce, outcomes: answerOutcomes,
            publishes: try publishes.map { expression throws(ScenarioError) in
                publishesFromAnswer ? .fromAnswer(expression) : .key(try expression.evaluate(in: scope))
            })
    }

    /// The path with each expression's value percent-encoded where a path needs it.
    private func renderPath(in scope: some ScenarioScope) throws(ScenarioError) -> String {
        var out = ""
        for part in path.parts {
            switch part {
            case .text(let text): out += text
            case .expression(let expression):
                let value = try expression.evaluate(in: scope).description
                // Most values (ids, numbers, plain words) need no encoding: check before paying for it.
                let plain = value.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                }
                out += plain ? value : value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value
            }
        }
        return out
    }

    /// Whether the request needs its answer's body: to capture from it.
    var needsBody: Bool { !captures.isEmpty }

    /// What the request's captures take from `response`, a 2xx answer, then its `let`s: each name and its value.
    /// A definite path that finds nothing, or a body that is not JSON, is an error that names the request.
    func values(
        from response: LoadResponse, in scope: some ScenarioScope, label: String
    ) throws(ScenarioError)
        -> [(String, ScenarioValue)]
    {
        var found: [(String, ScenarioValue)] = []
        if (200...299).contains(response.status), !captures.isEmpty {
            let bytes = response.body.readableBytesView
            // One definite path, known before the answer: read only what lies on it.
            if captures.count == 1, let path = captures[0].parsed, path.isDefinite {
                let capture = captures[0]
                switch path.select(inJSON: bytes) {
                case .found(let value): found.append((capture.name, value))
                case .missing:
                    throw ScenarioError.shape(
                        "capture '\(capture.name)' found nothing at \(path) in the answer of \(label) "
                            + "(\(response.status)): \(Self.snippet(bytes))", at: capture.position)
                case .notJSON:
                    throw ScenarioError.shape(
                        "\(label) answered \(response.status) with a body that is not JSON, so nothing could be "
                            + "captured: \(Self.snippet(bytes))", at: position)
                }
                return try addingLets(to: found, in: scope)
            }
            guard let body = ScenarioValue(jsonBytes: bytes) else {
                throw ScenarioError.shape(
                    "\(label) answered \(response.status) with a body that is not JSON, so nothing could be "
                        + "captured: \(Self.snippet(bytes))", at: position)
            }
            for capture in captures {
                let path: JSONPath
                let text: String
                if let parsed = capture.parsed {
                    (path, text) = (parsed, parsed.description)
                } else {
                    text = try capture.path.render(in: scope)
                    do { path = try JSONPath(text) } catch {
                        throw ScenarioError("capture '\(capture.name)': \(error.message)", at: capture.position)
                    }
                }
                let selected = path.select(in: body)
                if path.isDefinite {
                    guard let value = selected.first else {
                        throw ScenarioError.shape(
                            "capture '\(capture.name)' found nothing at \(text) in the answer of \(label) "
                                + "(\(response.status)): \(Self.snippet(bytes))", at: capture.position)
                    }
                    found.append((capture.name, value))
                } else {
                    // An empty list is an answer ("no such bookings"); a path that does not fit the answer's shape
                    // is a mistake, which the invariants must never read as "every booking lost".
                    if selected.isEmpty, let mismatch = path.mismatch(in: body) {
                        throw ScenarioError.shape(
                            "capture '\(capture.name)': \(text) does not fit the answer of \(label) "
                                + "(\(response.status)): \(mismatch); the answer begins \(Self.snippet(bytes))",
                            at: capture.position)
                    }
                    found.append((capture.name, .list(selected)))
                }
            }
        }
        return try addingLets(to: found, in: scope)
    }

    /// `found`, then each `let` computed with what was found in scope.
    private func addingLets(
        to found: [(String, ScenarioValue)], in scope: some ScenarioScope
    ) throws(ScenarioError)
        -> [(String, ScenarioValue)]
    {
        guard !lets.isEmpty else { return found }
        var found = found
        var extended = ExtendedScope(base: scope, added: [:])
        for (name, value) in found { extended.added[name] = value }
        for (name, expression) in lets {
            let value = try expression.evaluate(in: extended)
            extended.added[name] = value
            found.append((name, value))
        }
        return found
    }

    static func snippet(_ bytes: some Collection<UInt8>) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? text + "…" : text
    }
}

/// A scope with a few names added in front of another.
struct ExtendedScope<Base: ScenarioScope>: ScenarioScope {
    let base: Base
    var added: [String: ScenarioValue]

    func value(of name: String) -> ScenarioValue? { added[name] ?? base.value(of: name) }
    func count(request: String, outcome: String?) -> Int? { base.count(request: request, outcome: outcome) }
    func rate(of request: String) -> Double? { base.rate(of: request) }
}

extension ScenarioFile.Payload {
    /// The bytes to send, and their `Content-Type` unless the request names one.
    func render(in scope: some ScenarioScope) throws(ScenarioError) -> (ByteBuffer, contentType: String) {
        switch self {
        case .json(let body):
            return (ByteBuffer(string: try body.json(in: scope)), "application/json")
        case .text(let template):
            return (ByteBuffer(string: try template.render(in: scope)), "text/plain; charset=utf-8")
        case .form(let fields):
            let encoded = try fields.map { field throws(ScenarioError) in
                Self.formEncoded(field.0) + "=" + Self.formEncoded(try field.1.render(in: scope))
            }
            return (ByteBuffer(string: encoded.joined(separator: "&")), "application/x-www-form-urlencoded")
        case .file(_, let bytes):
            return (bytes, "application/octet-stream")
        }
    }

    /// What a form may carry as is (letters, digits, `-._*`); a space is `+`, anything else `%XX` of its UTF-8.
    private static let formPlain = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    static func formEncoded(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if formPlain.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar == " " {
                out += "+"
            } else {
                for byte in String(scalar).utf8 { out += "%" + String(byte, radix: 16, uppercase: true).leftPadded }
            }
        }
        return out
    }
}

extension String {
    /// Two hex digits.
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}

extension ScenarioFile.Body {
    /// The body as JSON text, its templates rendered.
    func json(in scope: some ScenarioScope) throws(ScenarioError) -> String {
        switch self {
        case .value(let value): return value.json
        case .template(let template): return try template.value(in: scope).json
        case .list(let items):
            return "["
                + (try items.map { item throws(ScenarioError) in try item.json(in: scope) })
                .joined(separator: ",") + "]"
        case .object(let fields):
            return "{"
                + (try fields.map { field throws(ScenarioError) in
                    ScenarioValue.string(field.0).json + ":" + (try field.1.json(in: scope))
                }).joined(separator: ",") + "}"
        }
    }
}
