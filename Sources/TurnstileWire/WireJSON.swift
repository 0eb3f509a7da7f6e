import Foundation

/// The API's JSON conventions, for both ends: snake_case keys (spelled out in each type's `CodingKeys`), RFC 3339
/// UTC dates, sorted keys.
public enum WireJSON {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Reads RFC 3339 dates with or without fractional seconds, refusing days the calendar lacks.
    public static let decoder: JSONDecoder = {
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
    public static func parseDate(_ text: String) -> Date? {
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
}

extension KeyedDecodingContainer {
    /// Decodes an integer field, reporting a fractional or out-of-range number against its key.
    ///
    /// Foundation's decoder reports `2.5` or `1e30` for an `Int` as corruption of the whole document, with no
    /// coding path, which would read as "not JSON". Decoding it here lets the error name the field (422, not 400).
    func decodeWholeNumber<Integer: FixedWidthInteger & Decodable>(
        _ type: Integer.Type, forKey key: Key
    ) throws -> Integer {
        do {
            return try decode(type, forKey: key)
        } catch DecodingError.dataCorrupted where (try? decode(Double.self, forKey: key)) != nil {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "must be a whole number between \(Integer.min) and \(Integer.max)")
        }
    }

    /// A whole number that may be missing or null.
    func decodeWholeNumberIfPresent<Integer: FixedWidthInteger & Decodable>(
        _ type: Integer.Type, forKey key: Key
    ) throws -> Integer? {
        guard try contains(key) && !decodeNil(forKey: key) else { return nil }
        return try decodeWholeNumber(type, forKey: key)
    }
}
