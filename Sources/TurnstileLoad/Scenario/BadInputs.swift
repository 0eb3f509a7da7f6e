import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// The bad inputs made from one of a scenario's requests, as the first user would send it: every field of its JSON
/// body missing, null, of the wrong type, empty, negative, zero, beyond 64 bits, far too long, or holding control and
/// invisible characters; the body cut short (malformed JSON) or sent as another type; no token, a malformed one, an
/// expired-looking one; an unknown id in the path; another user's resource; a body past the size limit.
struct BadInputs {
    struct Case: Sendable {
        let input: String
        /// Makes the request when it is sent: a body past the size limit (up to 16 MiB) exists only while it goes
        /// out, not once per request for the whole phase.
        let make: @Sendable () -> LoadRequest
    }

    /// An expired JWT (`exp` 1, signed with nothing any service holds): a token of the right shape, long dead.
    static let expiredToken =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjoxfQ.c2lnbmF0dXJlLW9mLW5vLW9uZQ"
    /// A string no field is meant to hold this long.
    static let overLongCharacters = 100_000
    /// NUL, BEL, a zero-width space, a right-to-left override and a byte-order mark.
    static let controlText = "a\u{0000}b\u{0007}c\u{200B}d\u{202E}e\u{FEFF}"

    /// The cases for `request` as `base` renders it (the first user's), `other` being the same request as another
    /// user would send it (for "another user's resource"), with bodies past `bodyLimit` bytes when given.
    /// `identity` names the headers that carry a user's identity (`Authorization`, `X-Auth`: the users' headers).
    static func cases(
        _ request: ScenarioFile.Request, base: LoadRequest, other: LoadRequest?, bodyLimit: Int?,
        identity: [String] = ["Authorization"]
    ) -> [Case] {
        var maker = Maker(base: base)
        if let body = base.body, let json = ScenarioValue(jsonBytes: body.readableBytesView),
            case .object(let fields) = json
        {
            maker.addBodies(fieldMutations(fields, prefix: "body"))
        }
        maker.addMalformedBodies()
        maker.addIdentities(identity)
        for (index, part) in request.path.parts.enumerated() {
            guard case .expression = part else { continue }
            maker.add(
                "an unknown id in the path (value \(index + 1))",
                path: unknownIDPath(request, base: base.path, part: index))
        }
        if let other, other.path != base.path {
            maker.add("another user's resource (\(other.path))", path: other.path)
        }
        maker.addBodyPast(bodyLimit)
        return maker.cases
    }

    /// A JSON text made when its request is sent: a 100,000-character field is not held once per case.
    typealias LazyJSON = @Sendable () -> String

    /// Collects the cases made from one request by changing one thing of it at a time.
    struct Maker {
        let base: LoadRequest
        private(set) var cases: [Case] = []

        init(base: LoadRequest) { self.base = base }

        mutating func add(_ input: String, path: String? = nil, headers: HTTPHeaders? = nil, body: ByteBuffer?? = nil) {
            let made = variant(path: path, headers: headers, body: body ?? base.body)
            cases.append(Case(input: input) { made })
        }

        /// A case per mutation of the JSON body, each body made as it is sent.
        mutating func addBodies(_ mutations: [(String, LazyJSON)]) {
            for (input, text) in mutations {
                let base = base
                cases.append(
                    Case(input: input) {
                        Maker(base: base).variant(body: ByteBuffer(string: text()))
                    })
            }
        }

        /// The body cut short (when it is JSON), and sent as another type.
        mutating func addMalformedBodies() {
            guard let body = base.body else { return }
            if ScenarioValue(jsonBytes: body.readableBytesView) != nil {
                add(
                    "malformed JSON (cut short)",
                    body: .some(ByteBuffer(string: String(String(buffer: body).dropLast()))))
            }
            var headers = base.headers
            headers.replaceOrAdd(name: "Content-Type", value: "text/plain")
            add("Content-Type: text/plain", headers: headers)
        }

        /// Without each of the `identity` headers the request carries, with a malformed token, an expired one.
        mutating func addIdentities(_ identity: [String]) {
            for name in identity where base.headers.contains(name: name) {
                var none = base.headers
                none.remove(name: name)
                add("no \(name)", headers: none)
                // A bearer token stays a bearer token, made wrong; any other credential is replaced whole.
                let bearer = base.headers.first(name: name)?.hasPrefix("Bearer ") == true ? "Bearer " : ""
                for (input, value) in [("a malformed token", "not-a-token"), ("an expired token", expiredToken)] {
                    var headers = base.headers
                    headers.replaceOrAdd(name: name, value: bearer + value)
                    add("\(input) in \(name)", headers: headers)
                }
            }
        }

        /// A JSON body one byte past `bodyLimit` (POST, PUT and PATCH), made only while it is sent.
        mutating func addBodyPast(_ bodyLimit: Int?) {
            guard let bodyLimit, [.POST, .PUT, .PATCH].contains(base.method) else { return }
            var headers = base.headers
            headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            let base = base
            cases.append(
                Case(input: "a body past \(Format.bytes(UInt64(bodyLimit)))") { [headers] in
                    var body = ByteBuffer(string: #"{"padding":""#)
                    body.writeRepeatingByte(UInt8(ascii: "x"), count: bodyLimit + 1)
                    body.writeString(#""}"#)
                    return Maker(base: base).variant(headers: headers, body: body)
                })
        }

        func variant(path: String? = nil, headers: HTTPHeaders? = nil, body: ByteBuffer?) -> LoadRequest {
            LoadRequest(
                endpoint: base.endpoint, method: base.method, path: path ?? base.path,
                headers: headers ?? base.headers, body: body, expected: .clientError, isSentOnce: true)
        }
    }

    /// Each field of `fields` (and of the objects among them, one level down) made wrong, one at a time: the label
    /// and the whole body as JSON text.
    static func fieldMutations(_ fields: [String: ScenarioValue], prefix: String) -> [(String, LazyJSON)] {
        var mutations: [(String, LazyJSON)] = []
        for name in fields.keys.sorted() {
            let label = "\(prefix).\(name)"
            mutations.append(("\(label): missing", { object(fields, replacing: name, with: nil) }))
            for (what, raw) in wrongValues(for: fields[name]!) {
                mutations.append(("\(label): \(what)", { object(fields, replacing: name, with: raw()) }))
            }
            if prefix == "body", case .object(let inner) = fields[name]! {
                for (innerLabel, innerRaw) in fieldMutations(inner, prefix: label) {
                    mutations.append((innerLabel, { object(fields, replacing: name, with: innerRaw()) }))
                }
            }
        }
        return mutations
    }

    /// `fields` as a JSON object, with the field `name` holding the JSON text `raw` instead, or left out when nil.
    static func object(_ fields: [String: ScenarioValue], replacing name: String, with raw: String?) -> String {
        "{"
            + fields.keys.sorted().compactMap { key -> String? in
                if key == name { return raw.map { ScenarioValue.string(key).json + ":" + $0 } }
                return ScenarioValue.string(key).json + ":" + fields[key]!.json
            }.joined(separator: ",") + "}"
    }

    /// Wrong values for a field that holds `value`, as JSON text.
    static func wrongValues(for value: ScenarioValue) -> [(String, LazyJSON)] {
        var values: [(String, String)] = [("null", "null")]
        switch value {
        case .int, .double:
            values += [
                ("a string", #""not a number""#), ("negative", "-1"), ("zero", "0"),
                ("beyond 64 bits", "123456789012345678901234567890"), ("a fraction", "0.5"),
            ]
        case .string:
            values += [
                ("a number", "12345"), ("empty", #""""#),
                ("control and invisible characters", ScenarioValue.string(controlText).json),
            ]
        case .bool:
            values += [("a string", #""yes""#), ("a number", "1")]
        case .list:
            values += [("empty", "[]"), ("a string", #""x""#), ("a list of nulls", "[null]")]
        case .object:
            values += [("empty", "{}"), ("a string", #""x""#)]
        case .null:
            values += [("a string", #""x""#)]
        }
        var lazy: [(String, LazyJSON)] = values.map { value in (value.0, { value.1 }) }
        if case .string = value {
            lazy.insert(
                ("\(overLongCharacters.formatted()) characters", { longString(overLongCharacters) }), at: 3)
        }
        return lazy
    }

    /// A JSON string of `count` x's.
    static func longString(_ count: Int) -> String { "\"" + String(repeating: "x", count: count) + "\"" }

    /// The path with the expression at `part` written as an id that names nothing.
    private static func unknownIDPath(_ request: ScenarioFile.Request, base: String, part index: Int) -> String {
        // The path as sent, with that one value swapped: rebuilt from the template's text parts around it.
        var out = ""
        var consumed = base[...]
        for (position, part) in request.path.parts.enumerated() {
            switch part {
            case .text(let text):
                out += text
                consumed = consumed.dropFirst(text.count)
            case .expression:
                // The value ends where the next text part begins (or at the end).
                let next = request.path.parts.dropFirst(position + 1).first.flatMap { part -> String? in
                    if case .text(let text) = part { return text }
                    return nil
                }
                let end = next.flatMap { consumed.range(of: $0)?.lowerBound } ?? consumed.endIndex
                let value = consumed[..<end]
                consumed = consumed[end...]
                out += position == index ? (Int(value) != nil ? "999999999" : "does-not-exist") : String(value)
            }
        }
        return out
    }
}

extension StatusSet {
    /// 400–499: what a bad input should get.
    static let clientError = StatusSet(ranges: [400...499])
}
