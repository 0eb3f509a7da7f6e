import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport
import Yams

/// The operations of an OpenAPI 3 document, as a bad-input phase makes inputs from them: each operation sent once
/// as its schemas allow (path and required query parameters from examples, defaults, bounds, or the file's
/// `parameters`; a JSON body built the same way), then made wrong one thing at a time, the declared bounds included:
/// a number below its `minimum` or above its `maximum`, a string shorter than its `minLength` or longer than its
/// `maxLength`, a value outside its `enum`, a field the schema does not allow.
///
/// The document comes from the target or a pull request: it is read within ``LoadLimits/openAPIDocumentBytesMax``,
/// its `$ref`s are followed at most ``LoadLimits/openAPIReferenceDepthMax`` deep (a cycle ends there), and at most
/// ``LoadLimits/openAPIOperationsMax`` operations and ``LoadLimits/openAPIPropertiesMax`` properties of an object are
/// read.
struct OpenAPIBadInputs: Sendable {
    struct Operation: Sendable {
        let method: HTTPMethod
        /// As the document writes it: `/orders/{id}`.
        let path: String
        let parameters: [Parameter]
        /// The JSON body's schema, when it takes one.
        let body: ScenarioValue?
        /// Whether the operation declares that it needs credentials.
        let isSecured: Bool

        /// The name results are counted under: `POST /orders/{id}`.
        var endpoint: String { "\(method.rawValue) \(path)" }
    }

    struct Parameter: Sendable {
        enum Location: String, Sendable { case path, query }
        let name: String
        let location: Location
        let isRequired: Bool
        let schema: ScenarioValue
    }

    private(set) var operations: [Operation] = []
    /// Operations left out: more than the bound, or with a body that is not JSON.
    private(set) var notes: [String] = []
    private let document: ScenarioValue

    /// Reads a JSON or YAML OpenAPI document named `name` in messages.
    init(bytes: some Collection<UInt8>, name: String) throws(ScenarioError) {
        guard bytes.count <= LoadLimits.openAPIDocumentBytesMax else {
            throw ScenarioError(
                "\(name) is larger than \(Format.bytes(UInt64(LoadLimits.openAPIDocumentBytesMax))), the most an "
                    + "OpenAPI document may be")
        }
        let document: ScenarioValue
        if let json = ScenarioValue(jsonBytes: bytes) {
            document = json
        } else {
            guard let text = String(bytes: bytes, encoding: .utf8) else {
                throw ScenarioError("\(name) is neither JSON nor UTF-8 YAML")
            }
            try YAMLScreen.check(text, file: name)
            do {
                guard let root = try Yams.compose(yaml: text) else { throw ScenarioError("\(name) is empty") }
                document = try YAMLReader(file: name, folder: nil).value(root)
            } catch let error as ScenarioError {
                throw error
            } catch {
                throw ScenarioError("\(name) is neither JSON nor YAML: \(error)")
            }
        }
        try self.init(document: document, name: name)
    }

    init(document: ScenarioValue, name: String) throws(ScenarioError) {
        guard case .object(let top) = document, case .object(let paths)? = top["paths"] else {
            throw ScenarioError("\(name) is not an OpenAPI document: it has no 'paths'")
        }
        self.document = document
        let securedByDefault = Self.isSecurity(top["security"])
        var operations: [Operation] = []
        var notes: [String] = []
        var omitted = 0
        for path in paths.keys.sorted() {
            guard case .object(let item) = resolved(paths[path]!) else { continue }
            let shared = item["parameters"]
            for method in ["get", "put", "post", "delete", "patch"] {
                guard case .object(let operation)? = item[method].map(resolved) else { continue }
                guard operations.count < LoadLimits.openAPIOperationsMax else {
                    omitted += 1
                    continue
                }
                let method = HTTPMethod(rawValue: method.uppercased())
                var body: ScenarioValue?
                if case .object(let requestBody)? = operation["requestBody"].map(resolved),
                    case .object(let content)? = requestBody["content"]
                {
                    if let json = content.keys.sorted().first(where: Self.isJSON),
                        case .object(let media)? = content[json], let schema = media["schema"]
                    {
                        body = schema
                    } else if !content.isEmpty {
                        notes.append(
                            "\(method.rawValue) \(path): its body is not JSON; only its path and query were made wrong")
                    }
                }
                let isSecured = operation["security"].map(Self.isSecurity) ?? securedByDefault
                operations.append(
                    Operation(
                        method: method, path: path,
                        parameters: parameters(shared) + parameters(operation["parameters"]), body: body,
                        isSecured: isSecured))
            }
        }
        if omitted > 0 {
            notes.append(
                "\(name): \(omitted) operations past the first \(LoadLimits.openAPIOperationsMax) were left out")
        }
        self.operations = operations
        self.notes = notes
    }

    /// The cases for every operation, sent with `headers` (the first user's), path parameters from `values` where
    /// they name one; bodies past `bodyLimit` bytes when given. At most `limit` cases.
    func cases(
        headers: HTTPHeaders, values: [String: String], identity: [String], bodyLimit: Int?, limit: Int
    ) -> [(request: String, BadInputs.Case)] {
        var all: [(request: String, BadInputs.Case)] = []
        for operation in operations where all.count < limit {
            for made in cases(operation, headers: headers, values: values, identity: identity, bodyLimit: bodyLimit)
                .prefix(limit - all.count)
            {
                all.append((operation.endpoint, made))
            }
        }
        return all
    }

    private func cases(
        _ operation: Operation, headers: HTTPHeaders, values: [String: String], identity: [String], bodyLimit: Int?
    ) -> [BadInputs.Case] {
        // The valid request first: every value as its schema allows, then one changed at a time.
        var pathValues: [String: String] = [:]
        var query: [(String, String)] = []
        for parameter in operation.parameters {
            let value = values[parameter.name] ?? Self.text(of: example(of: parameter.schema))
            switch parameter.location {
            case .path: pathValues[parameter.name] = value
            case .query where parameter.isRequired: query.append((parameter.name, value))
            case .query: break
            }
        }
        var headers = headers
        var body: ScenarioValue?
        if let schema = operation.body {
            body = example(of: schema)
            headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        }
        func target(path: [String: String] = pathValues, query: [(String, String)] = query) -> String {
            Self.fill(operation.path, with: path) + Self.queryString(query)
        }
        let base = LoadRequest(
            endpoint: operation.endpoint, method: operation.method, path: target(), headers: headers,
            body: body.map { ByteBuffer(string: $0.json) }, expected: .clientError, isSentOnce: true)
        var maker = BadInputs.Maker(base: base)
        if let schema = operation.body, let body {
            if case .object(let fields) = body {
                maker.addBodies(BadInputs.fieldMutations(fields, prefix: "body"))
                maker.addBodies(boundMutations(of: schema, fields: fields))
            } else {
                maker.addBodies(
                    violations(of: schema).map { what, raw in ("body: \(what)", raw) }
                        + BadInputs.wrongValues(for: body).map { what, raw in ("body: \(what)", raw) })
            }
        }
        maker.addMalformedBodies()
        if operation.isSecured { maker.addIdentities(identity) }
        for parameter in operation.parameters {
            let wrong = violations(of: parameter.schema) + wrongText(for: parameter.schema)
            switch parameter.location {
            case .path:
                for (what, raw) in wrong {
                    var changed = pathValues
                    changed[parameter.name] = Self.text(ofJSON: raw())
                    maker.add("path \(parameter.name): \(what)", path: target(path: changed))
                }
                maker.add(
                    "path \(parameter.name): an unknown id",
                    path: target(path: pathValues.merging([parameter.name: unknownID(parameter.schema)]) { $1 }))
            case .query:
                let others = query.filter { $0.0 != parameter.name }
                if parameter.isRequired {
                    maker.add("query \(parameter.name): missing", path: target(query: others))
                }
                for (what, raw) in wrong {
                    maker.add(
                        "query \(parameter.name): \(what)",
                        path: target(query: others + [(parameter.name, Self.text(ofJSON: raw()))]))
                }
            }
        }
        maker.addBodyPast(bodyLimit)
        return maker.cases
    }

    // MARK: Schemas

    /// For each property of the body's object schema (and of the objects in it, one level down), a value past each
    /// bound its schema declares; and a field the schema does not allow, when it allows none.
    private func boundMutations(
        of schema: ScenarioValue, fields: [String: ScenarioValue]
    ) -> [(String, BadInputs.LazyJSON)] {
        var mutations: [(String, BadInputs.LazyJSON)] = []
        func add(
            _ schema: ScenarioValue, fields: [String: ScenarioValue], label: String,
            wrap: @escaping @Sendable (String) -> String, depth: Int
        ) {
            let object = resolved(schema)
            for (name, property) in properties(object) {
                for (what, raw) in violations(of: property) {
                    mutations.append(
                        ("\(label).\(name): \(what)", { wrap(BadInputs.object(fields, replacing: name, with: raw())) }))
                }
                if depth == 0, case .object(let inner)? = fields[name] {
                    add(
                        property, fields: inner, label: "\(label).\(name)",
                        wrap: { raw in wrap(BadInputs.object(fields, replacing: name, with: raw)) }, depth: 1)
                }
            }
            if case .object(let keys) = object, case .bool(false)? = keys["additionalProperties"] {
                let unknown = fields.keys.contains("undeclared") ? "undeclared_field" : "undeclared"
                mutations.append(
                    (
                        "\(label): a field it does not declare (\(unknown))",
                        {
                            wrap(
                                BadInputs.object(
                                    fields.merging([unknown: .int(1)]) { $1 }, replacing: unknown, with: "1"))
                        }
                    ))
            }
        }
        add(schema, fields: fields, label: "body", wrap: { $0 }, depth: 0)
        return mutations
    }

    /// Values past the bounds `schema` declares, as JSON text: below `minimum`, above `maximum`, shorter than
    /// `minLength`, longer than `maxLength`, fewer or more items than allowed, outside `enum`.
    private func violations(of schema: ScenarioValue) -> [(String, BadInputs.LazyJSON)] {
        guard case .object(let keys) = resolved(schema) else { return [] }
        var found: [(String, BadInputs.LazyJSON)] = []
        let type = Self.type(of: keys)
        if type == "integer" || type == "number" {
            if let minimum = keys["minimum"].flatMap(Self.number) {
                let below = Self.beyond(minimum, by: -1, integer: type == "integer")
                found.append(("below its minimum \(Self.text(of: minimum)) (\(below))", { below }))
            }
            if let maximum = keys["maximum"].flatMap(Self.number) {
                let above = Self.beyond(maximum, by: 1, integer: type == "integer")
                found.append(("above its maximum \(Self.text(of: maximum)) (\(above))", { above }))
            }
        }
        if type == "string" {
            if case .int(let minimum)? = keys["minLength"], minimum > 0 {
                found.append(
                    (
                        "shorter than its minLength \(minimum)",
                        { BadInputs.longString(min(minimum, Self.lengthMax) - 1) }
                    ))
            }
            if case .int(let maximum)? = keys["maxLength"], maximum >= 0, maximum < Self.lengthMax {
                found.append(("longer than its maxLength \(maximum)", { BadInputs.longString(maximum + 1) }))
            }
        }
        if type == "array", keys["minItems"] != nil || keys["maxItems"] != nil {
            let item = example(of: keys["items"] ?? .object([:])).json
            if case .int(let minimum)? = keys["minItems"], minimum > 0, minimum <= Self.itemsMax {
                found.append(
                    (
                        "fewer than its minItems \(minimum)",
                        { "[" + Array(repeating: item, count: minimum - 1).joined(separator: ",") + "]" }
                    ))
            }
            if case .int(let maximum)? = keys["maxItems"], maximum >= 0, maximum < Self.itemsMax {
                found.append(
                    (
                        "more than its maxItems \(maximum)",
                        { "[" + Array(repeating: item, count: maximum + 1).joined(separator: ",") + "]" }
                    ))
            }
        }
        if case .list(let allowed)? = keys["enum"], !allowed.isEmpty {
            let outside = allowed.contains(.string("not-one-of-them")) ? "not-one-of-them-either" : "not-one-of-them"
            found.append(("not one of its enum", { ScenarioValue.string(outside).json }))
        }
        return found
    }

    /// A value `schema` allows: its example, default, first enum value or const, else one built from its type
    /// within its bounds. At most ``LoadLimits/openAPIExampleNodesMax`` schemas are visited for one value: a
    /// document whose objects nest wide and deep (a thousand properties each referring to the same thousand) would
    /// otherwise take exponential time; past the budget, `null`.
    func example(of schema: ScenarioValue) -> ScenarioValue {
        var budget = LoadLimits.openAPIExampleNodesMax
        return example(of: schema, depth: 0, budget: &budget)
    }

    private func example(of schema: ScenarioValue, depth: Int, budget: inout Int) -> ScenarioValue {
        budget -= 1
        guard budget >= 0, depth < LoadLimits.openAPIReferenceDepthMax, case .object(let keys) = resolved(schema) else {
            return .null
        }
        if let example = keys["example"] { return example }
        if case .list(let examples)? = keys["examples"], let first = examples.first { return first }
        if let value = keys["default"] ?? keys["const"] { return value }
        if case .list(let allowed)? = keys["enum"], let first = allowed.first { return first }
        for combined in ["allOf", "oneOf", "anyOf"] {
            guard case .list(let schemas)? = keys[combined], !schemas.isEmpty else { continue }
            if combined != "allOf" { return example(of: schemas[0], depth: depth + 1, budget: &budget) }
            var fields: [String: ScenarioValue] = [:]
            for part in schemas.prefix(LoadLimits.openAPIPropertiesMax) {
                if case .object(let more) = example(of: part, depth: depth + 1, budget: &budget) {
                    fields.merge(more) { $1 }
                }
            }
            return .object(fields)
        }
        switch Self.type(of: keys) {
        case "object":
            var fields: [String: ScenarioValue] = [:]
            for (name, property) in properties(.object(keys)) {
                if case .object(let inner) = resolved(property), inner["readOnly"] == .bool(true) { continue }
                fields[name] = example(of: property, depth: depth + 1, budget: &budget)
            }
            return .object(fields)
        case "array":
            let count = if case .int(let minimum)? = keys["minItems"] { max(1, min(minimum, Self.itemsMax)) } else { 1 }
            let item = example(of: keys["items"] ?? .object([:]), depth: depth + 1, budget: &budget)
            return .list(Array(repeating: item, count: count))
        case "integer":
            let low = keys["minimum"].flatMap(Self.number).map { Int(exactly: $0.rounded(.up)) ?? 1 } ?? 1
            let high = keys["maximum"].flatMap(Self.number).map { Int(exactly: $0.rounded(.down)) ?? low } ?? low
            return .int(min(max(low, 1), max(high, low)))
        case "number":
            let low = keys["minimum"].flatMap(Self.number) ?? 1
            return .double(max(low, min(1, keys["maximum"].flatMap(Self.number) ?? 1)))
        case "boolean":
            return .bool(true)
        case "string":
            switch keys["format"] {
            case .string("email"): return .string("someone@example.com")
            case .string("date-time"): return .string("2030-01-01T00:00:00Z")
            case .string("date"): return .string("2030-01-01")
            case .string("uuid"): return .string("00000000-0000-4000-8000-000000000000")
            case .string("uri"), .string("url"): return .string("https://example.com/")
            default:
                let length = if case .int(let minimum)? = keys["minLength"] { max(1, min(minimum, 1_000)) } else { 1 }
                return .string(String(repeating: "x", count: length))
            }
        default:
            return .null
        }
    }

    /// The properties an object schema declares, with their schemas, in name order; at most
    /// ``LoadLimits/openAPIPropertiesMax``.
    private func properties(_ schema: ScenarioValue) -> [(String, ScenarioValue)] {
        guard case .object(let keys) = resolved(schema), case .object(let properties)? = keys["properties"] else {
            return []
        }
        return properties.keys.sorted().prefix(LoadLimits.openAPIPropertiesMax).map { ($0, properties[$0]!) }
    }

    /// `value` with its `$ref`s followed (within this document), at most ``LoadLimits/openAPIReferenceDepthMax``;
    /// a reference to elsewhere, or one that names nothing, as an empty schema.
    private func resolved(_ value: ScenarioValue) -> ScenarioValue {
        var value = value
        for _ in 0..<LoadLimits.openAPIReferenceDepthMax {
            guard case .object(let keys) = value, case .string(let reference)? = keys["$ref"] else { return value }
            guard reference.hasPrefix("#/") else { return .object([:]) }
            var found: ScenarioValue? = document
            for part in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
                let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                guard case .object(let fields)? = found else { return .object([:]) }
                found = fields[key]
            }
            value = found ?? .object([:])
        }
        return .object([:])
    }

    private func parameters(_ list: ScenarioValue?) -> [Parameter] {
        guard case .list(let items)? = list else { return [] }
        return items.prefix(LoadLimits.openAPIPropertiesMax).compactMap { item in
            guard case .object(let keys) = resolved(item), case .string(let name)? = keys["name"],
                case .string(let place)? = keys["in"], let location = Parameter.Location(rawValue: place)
            else { return nil }
            return Parameter(
                name: name, location: location, isRequired: keys["required"] == .bool(true) || location == .path,
                schema: keys["schema"] ?? .object([:]))
        }
    }

    /// An id of the parameter's type that names nothing.
    private func unknownID(_ schema: ScenarioValue) -> String {
        guard case .object(let keys) = resolved(schema), ["integer", "number"].contains(Self.type(of: keys)) else {
            return "does-not-exist"
        }
        let maximum = keys["maximum"].flatMap(Self.number) ?? 1e18
        return maximum >= 999_999_999 ? "999999999" : Self.text(of: maximum)
    }

    // MARK: Text

    /// The longest string and the most items a bound is tested with: past them, the body limit speaks.
    private static let lengthMax = 1 << 20
    private static let itemsMax = 10_000

    private static func type(of keys: [String: ScenarioValue]) -> String? {
        switch keys["type"] {
        case .string(let type): type
        // OpenAPI 3.1's `type: [string, "null"]`: the type that is not null.
        case .list(let types):
            types.lazy.compactMap { if case .string(let t) = $0, t != "null" { t } else { nil } }.first
        default: keys["properties"] != nil ? "object" : nil
        }
    }

    /// Wrong types for a parameter, as JSON text: not a number for a number, not true or false for a boolean. Its
    /// schema's `$ref` followed, as for its bounds.
    private func wrongText(for schema: ScenarioValue) -> [(String, BadInputs.LazyJSON)] {
        guard case .object(let keys) = resolved(schema) else { return [] }
        switch Self.type(of: keys) {
        case "integer", "number":
            return [("not a number", { #""abc""# }), ("beyond 64 bits", { "123456789012345678901234567890" })]
        case "boolean": return [("not true or false", { #""maybe""# })]
        default: return [("control and invisible characters", { ScenarioValue.string(BadInputs.controlText).json })]
        }
    }

    private static func isSecurity(_ value: ScenarioValue?) -> Bool {
        guard case .list(let requirements)? = value else { return false }
        // `security: [{}]` makes credentials optional.
        return !requirements.isEmpty && !requirements.contains(.object([:]))
    }

    private static func isJSON(_ mediaType: String) -> Bool {
        let type = mediaType.lowercased()
        return type.hasPrefix("application/json") || type.contains("+json")
    }

    private static func number(_ value: ScenarioValue) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .double(let number): number
        default: nil
        }
    }

    /// `bound` moved by one (or, past 64 bits, written one past as text) for an integer; by a thousandth, or one,
    /// for a number.
    private static func beyond(_ bound: Double, by step: Double, integer: Bool) -> String {
        guard integer else { return text(of: bound + step * max(1, abs(bound) / 1_000)) }
        if bound >= 9.2e18 { return "9223372036854775808" }
        if bound <= -9.2e18 { return "-9223372036854775809" }
        return String(Int(bound) + Int(step))
    }

    private static func text(of number: Double) -> String {
        number == number.rounded() && abs(number) < 9e15 ? String(Int(number)) : String(number)
    }

    /// A value as a path or query parameter writes it: a string without its quotes.
    static func text(of value: ScenarioValue) -> String {
        if case .string(let text) = value { return text }
        return value.json
    }

    /// A JSON text as a path or query parameter writes it: a string without its quotes, anything else as is.
    static func text(ofJSON raw: String) -> String {
        guard raw.hasPrefix("\""), case .string(let text)? = ScenarioValue(jsonBytes: Array(raw.utf8)) else {
            return raw
        }
        return text
    }

    /// `path` with each `{name}` replaced by its value, escaped for a path.
    static func fill(_ path: String, with values: [String: String]) -> String {
        var out = ""
        var rest = path[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            let value = values[name] ?? "1"
            out += value.addingPercentEncoding(withAllowedCharacters: .urlPathSegmentAllowed) ?? value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    static func queryString(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "?"
            + pairs.map { name, value in
                "\(name.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? name)="
                    + (value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? value)
            }.joined(separator: "&")
    }
}

extension CharacterSet {
    /// A path segment's characters: no `/`, `?` or `#`.
    fileprivate static let urlPathSegmentAllowed = CharacterSet.urlPathAllowed.subtracting(
        CharacterSet(charactersIn: "/"))
    /// A query value's characters: no `&`, `=`, `+` or `#`.
    fileprivate static let urlQueryValueAllowed = CharacterSet.urlQueryAllowed.subtracting(
        CharacterSet(charactersIn: "&=+#"))
}
