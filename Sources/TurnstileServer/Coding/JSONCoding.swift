import Foundation
import TurnstileCore
import TurnstileWire

/// The service's side of the JSON conventions: ``WireJSON``'s coders (shared with the engine), and the mapping of a
/// request body's decoding errors to 400 and 422 problems.
enum JSONCoding {
    static var encoder: JSONEncoder { WireJSON.encoder }
    static var decoder: JSONDecoder { WireJSON.decoder }
    static func parseDate(_ text: String) -> Date? { WireJSON.parseDate(text) }

    /// Decodes a request body, telling "not JSON at all" (400) from "JSON of the wrong shape" (422).
    static func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws(TurnstileError) -> Value {
        do {
            return try decoder.decode(type, from: data)
        } catch let error as DecodingError {
            throw Self.turnstileError(error, data: data)
        } catch {
            throw .malformedJSON(detail: String(describing: error))
        }
    }

    private static func turnstileError(_ error: DecodingError, data: Data) -> TurnstileError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Foundation also reports a number that fits no field this way; only a body that does not parse at
            // all is "not JSON".
            guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) == nil else {
                return .validationFailed(field: "body", detail: "holds a value of the wrong type or out of range")
            }
            return .malformedJSON(detail: context.debugDescription)
        case .dataCorrupted(let context):
            return .validationFailed(field: fieldName(context.codingPath), detail: context.debugDescription)
        case .keyNotFound(let key, let context):
            return .validationFailed(field: fieldName(context.codingPath + [key]), detail: "is required")
        case .typeMismatch(let type, let context) where context.codingPath.isEmpty:
            return .validationFailed(field: "body", detail: "must be a JSON \(jsonTypeName(type))")
        case .typeMismatch(let type, let context):
            return .validationFailed(
                field: fieldName(context.codingPath), detail: "must be \(article(jsonTypeName(type)))")
        case .valueNotFound(let type, let context):
            return .validationFailed(
                field: fieldName(context.codingPath), detail: "must be \(article(jsonTypeName(type))), not null")
        @unknown default:
            return .malformedJSON(detail: String(describing: error))
        }
    }

    private static func fieldName(_ path: [any CodingKey]) -> String {
        path.reduce(into: "") { name, key in
            if let index = key.intValue {
                name += "[\(index)]"
            } else {
                name += name.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: "integer"
        case is any BinaryFloatingPoint.Type: "number"
        case is String.Type, is Date.Type: "string"
        case is Bool.Type: "boolean"
        default:
            String(describing: type).hasPrefix("Array") ? "array" : "object"
        }
    }

    private static func article(_ noun: String) -> String {
        (noun.first.map { "aeiou".contains($0) } ?? false) ? "an \(noun)" : "a \(noun)"
    }
}
