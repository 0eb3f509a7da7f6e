import Foundation
import Testing
import TurnstileWire

@testable import TurnstileServer

/// The OpenAPI document's schemas (derived from the wire types, see ``WireSchemas``) against the wire types' examples,
/// field by field: each schema has exactly the members its type encodes, of the same JSON types (null only where the
/// schema allows it), so no refinement can contradict a type; a request body's schema requires exactly the members
/// its type cannot decode without.
@Suite("OpenAPI document against the wire types")
struct OpenAPIWireTypeTests {
    private let schemas: [String: JSONValue]

    init() throws {
        let document = try JSONDecoder().decode(JSONValue.self, from: OpenAPIDocument.json)
        schemas = try #require(document["components"]?["schemas"]?.object)
    }

    @Test("every response schema has exactly its type's members, of the same JSON types, refinements included")
    func responseSchemas() throws {
        for entry in WireSchemas.entries where entry.decodes == nil {
            let schema = try #require(schemas[entry.name], "no schema \(entry.name)")
            for example in entry.examples { check(JSONShape(encoding: example), against: schema, at: entry.name) }
        }
    }

    @Test("every request body schema has its type's members, its example decodes, and the refinements keep its types")
    func requestSchemas() throws {
        for entry in WireSchemas.entries {
            guard let decodes = entry.decodes else { continue }
            let schema = try #require(schemas[entry.name], "no schema \(entry.name)")
            let encoded = JSONShape(encoding: try #require(entry.examples.first))
            check(encoded, against: schema, at: entry.name)
            let members = try #require(encoded.object)
            let properties = Set(schema["properties"]?.object.map { Array($0.keys) } ?? [])
            #expect(Set(members.keys) == properties, "\(entry.name)'s members")
            #expect(decodes(encoded.data), "\(entry.name)'s example decodes")
            // What the document requires, left out, fails to decode; what it does not, left out, decodes.
            let documented = Set(schema["required"]?.array?.compactMap(\.string) ?? [])
            for key in members.keys {
                let without = JSONShape.object(members.filter { $0.key != key }).data
                #expect(decodes(without) != documented.contains(key), "\(entry.name).\(key)")
            }
        }
    }

    @Test("every schema of the document is derived from a wire type (Problem is the server's own)")
    func everySchemaChecked() {
        #expect(Set(schemas.keys).subtracting(WireSchemas.entries.map(\.name)) == ["Problem"])
    }

    /// Records an issue wherever `value` breaks `schema`; a response schema (`additionalProperties: false`) must name
    /// every member the value has, and the value every member the schema requires.
    private func check(_ value: JSONValue, against schema: JSONValue, at path: String) {
        if let reference = schema["$ref"]?.string {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let resolved = schemas[name] else {
                Issue.record("\(path): unresolved \(reference)")
                return
            }
            check(value, against: resolved, at: path)
            return
        }
        let types = schema["type"].map { $0.array?.compactMap(\.string) ?? [$0.string ?? ""] } ?? []
        guard types.contains(value.jsonType) || (value.jsonType == "integer" && types.contains("number")) else {
            Issue.record("\(path) is \(value.jsonType), the document says \(types)")
            return
        }
        switch value {
        case .object(let members):
            let properties = schema["properties"]?.object ?? [:]
            for required in schema["required"]?.array?.compactMap(\.string) ?? [] where members[required] == nil {
                Issue.record("\(path).\(required) is required by the document but missing")
            }
            for (key, member) in members {
                if let property = properties[key] {
                    check(member, against: property, at: "\(path).\(key)")
                } else if let additional = schema["additionalProperties"], additional.object != nil {
                    check(member, against: additional, at: "\(path).\(key)")
                } else {
                    Issue.record("\(path).\(key) is not in the document")
                }
            }
        case .array(let elements):
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() {
                    check(element, against: items, at: "\(path)[\(index)]")
                }
            }
        default: break
        }
    }
}

/// The document's view of JSON values, for checking them against its schemas.
typealias JSONValue = JSONShape

extension JSONShape {
    var jsonType: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    subscript(key: String) -> JSONValue? { object?[key] }
    var object: [String: JSONValue]? { if case .object(let object) = self { object } else { nil } }
    var array: [JSONValue]? { if case .array(let array) = self { array } else { nil } }
    var string: String? { if case .string(let string) = self { string } else { nil } }
}

/// How a schema is derived from a wire type, on types made for the test.
@Suite("Schemas derived from wire types")
struct WireSchemaDerivationTests {
    struct Answer: Codable {
        let id: Int64
        let ownerID: Int64
        let name: String
        let note: String?
        let at: Date
        let open: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, note, at, open
            case ownerID = "owner_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(ownerID, forKey: .ownerID)
            try container.encode(name, forKey: .name)
            try container.encode(note, forKey: .note)
            try container.encode(at, forKey: .at)
            try container.encode(open, forKey: .open)
        }
    }

    struct Ask: Codable {
        let title: String
        let count: Int?
    }

    private func properties(_ schema: [String: Any]) -> [String: [String: Any]] {
        (schema["properties"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
    }

    @Test("members, JSON types, ids, dates and nullable members come from the type; refinements add what it cannot say")
    func response() {
        let date = Date(timeIntervalSince1970: 1_900_000_000)
        let schema = WireSchemas.schema(
            of: .init(
                name: "Answer",
                examples: [
                    Answer(id: 1, ownerID: 2, name: "a", note: "n", at: date, open: true),
                    Answer(id: 1, ownerID: 2, name: "a", note: nil, at: date, open: true),
                ], decodes: nil, refinements: ["name": .adding(["maxLength": 5])]))
        let members = properties(schema)
        #expect(Set(members.keys) == ["id", "owner_id", "name", "note", "at", "open"])
        #expect(members["id"]?["minimum"] as? Int == 1 && members["owner_id"]?["minimum"] as? Int == 1)
        #expect(members["at"]?["format"] as? String == "date-time")
        #expect(members["note"]?["type"] as? [String] == ["string", "null"])
        #expect(members["open"]?["type"] as? String == "boolean")
        #expect(members["name"]?["maxLength"] as? Int == 5 && members["name"]?["type"] as? String == "string")
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(schema["required"] as? [String] == ["at", "id", "name", "note", "open", "owner_id"])
    }

    @Test("a request body requires what its type cannot decode without, and takes unknown members")
    func body() {
        let schema = WireSchemas.schema(
            of: .init(
                name: "Ask", examples: [Ask(title: "t", count: 3)],
                decodes: { (try? JSONDecoder().decode(Ask.self, from: $0)) != nil }, refinements: [:]))
        #expect(schema["required"] as? [String] == ["title"])
        #expect(properties(schema)["count"]?["type"] as? [String] == ["integer", "null"])
        #expect(schema["additionalProperties"] == nil)
    }
}
