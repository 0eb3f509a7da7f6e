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
        var text = text.uppercased()
        // Foundation rolls an impossible day or time over (2027-02-29 becomes 1 March, 12:99 becomes 13:39): refuse
        // it instead.
        guard hasRealCalendarDay(text), hasRealClockTime(text) else { return nil }
        // RFC 3339 allows any offset up to ±23:59, Foundation only up to ±18:00: the offset is taken off here and
        // the rest read as UTC.
        var offsetSeconds = 0
        if !text.hasSuffix("Z") {
            guard let offset = numericOffset(text) else { return nil }
            offsetSeconds = offset
            text = String(text.dropLast(6)) + "Z"
        }
        text = fractionWithinNanoseconds(text)
        guard
            let local = (try? Date(text, strategy: .iso8601))
                ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        else { return nil }
        return local.addingTimeInterval(TimeInterval(-offsetSeconds))
    }

    /// `text` with its fraction of a second cut to 9 digits: RFC 3339 allows any number, Foundation reads at most
    /// 9, and nothing finer than a nanosecond changes the millisecond the service keeps.
    private static func fractionWithinNanoseconds(_ text: String) -> String {
        let characters = Array(text)
        guard characters.count > 20, characters[19] == "." else { return text }
        let digits = characters[20...].prefix { $0.isASCII && $0.isNumber }
        guard digits.count > 9 else { return text }
        return String(characters[..<29] + characters[(20 + digits.count)...])
    }

    /// Whether the `THH:MM:SS` after the date names a time: hours 00–23, minutes 00–59, seconds 00–60 (a leap
    /// second, which reads as the next minute's first).
    private static func hasRealClockTime(_ text: String) -> Bool {
        let time = Array(text.utf8.dropFirst(11).prefix(8))
        guard time.count == 8, time[2] == UInt8(ascii: ":"), time[5] == UInt8(ascii: ":") else { return false }
        let number = { (range: ClosedRange<Int>) -> Int? in
            let digits = time[range]
            guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            return Int(String(decoding: digits, as: UTF8.self))
        }
        guard let hours = number(0...1), let minutes = number(3...4), let seconds = number(6...7) else { return false }
        return hours <= 23 && minutes <= 59 && seconds <= 60
    }

    /// The seconds east of UTC of a `±HH:MM` ending, hours 00–23 and minutes 00–59; nil for any other ending.
    private static func numericOffset(_ text: String) -> Int? {
        let ending = Array(text.utf8.suffix(6))
        guard ending.count == 6, ending[0] == UInt8(ascii: "+") || ending[0] == UInt8(ascii: "-"),
            ending[3] == UInt8(ascii: ":"),
            let hours = Int(String(decoding: ending[1...2], as: UTF8.self)), (0...23).contains(hours),
            let minutes = Int(String(decoding: ending[4...5], as: UTF8.self)), (0...59).contains(minutes),
            ending[1...2].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            ending[4...5].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        let seconds = hours * 3_600 + minutes * 60
        return ending[0] == UInt8(ascii: "-") ? -seconds : seconds
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
