import Foundation
import TurnstileCore

/// The service's JSON conventions: snake_case keys (spelled out in each type's `CodingKeys`), RFC 3339 UTC dates.
enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = parseDate(text) { return date }
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be an RFC 3339 date-time such as 2026-12-31T20:00:00Z")
        }
        return decoder
    }()

    /// Parses an RFC 3339 date-time, with or without fractional seconds; `t` and `z` may be lower case (RFC 3339
    /// § 5.6).
    static func parseDate(_ text: String) -> Date? {
        let text = text.uppercased()
        // Foundation rolls an impossible day over (2027-02-29 becomes 1 March): refuse it instead.
        guard hasRealCalendarDay(text) else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Whether the `YYYY-MM-DD` that starts `text` names a day the calendar has.
    private static func hasRealCalendarDay(_ text: String) -> Bool {
        let parts = text.prefix(10).split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month)
        else { return false }
        let isLeap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let daysInMonth = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...daysInMonth).contains(day)
    }

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
