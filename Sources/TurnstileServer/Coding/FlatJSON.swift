import Foundation
import NIOCore

/// The hot path's JSON, without a `JSONDecoder`/`JSONEncoder` round trip: every booking request reads a small flat
/// object and answers one, and Foundation's coders were a tenth of the server's CPU on a hot event.
///
/// Both directions only ever take the easy cases and hand everything else to Foundation, so the answers (and the
/// errors) are exactly what ``JSONCoding`` gives; tests compare the two on the same inputs.
enum FlatJSON {
    /// A value of a flat object: the only kinds the fast path reads.
    enum Value: Equatable {
        case integer(Int64)
        case bool(Bool)
        case null
    }

    /// The members of `{"key": value, …}` whose keys are plain ASCII and whose values are integers (no sign on a
    /// zero, no leading zeros, no fraction or exponent), `true`, `false` or `null`; nil for anything else (a string,
    /// a nested value, an escape, a repeated key, trailing bytes), which the caller decodes the usual way.
    static func object(_ bytes: some Collection<UInt8>) -> [String: Value]? {
        var reader = Reader(bytes: Array(bytes))
        return reader.object()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func object() -> [String: Value]? {
            skipWhitespace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var members: [String: Value] = [:]
            skipWhitespace()
            if !take(UInt8(ascii: "}")) {
                repeat {
                    skipWhitespace()
                    guard let key = key() else { return nil }
                    skipWhitespace()
                    guard take(UInt8(ascii: ":")) else { return nil }
                    skipWhitespace()
                    guard let value = value(), members.updateValue(value, forKey: key) == nil else { return nil }
                    skipWhitespace()
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { return nil }
            }
            skipWhitespace()
            return index == bytes.endIndex ? members : nil
        }

        private mutating func key() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
                let byte = bytes[index]
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            guard index < bytes.endIndex else { return nil }
            defer { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func value() -> Value? {
            if take("true") { return .bool(true) }
            if take("false") { return .bool(false) }
            if take("null") { return .null }
            let negative = take(UInt8(ascii: "-"))
            let start = index
            while index < bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                index += 1
            }
            let digits = bytes[start..<index]
            guard let first = digits.first, first != UInt8(ascii: "0") || digits.count == 1,
                !(negative && first == UInt8(ascii: "0")),
                index == bytes.endIndex || !Self.continuesNumber(bytes[index])
            else { return nil }
            var magnitude: Int64 = 0
            for digit in digits {
                let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, carry) = times10.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
                guard !overflow, !carry else { return nil }
                magnitude = sum
            }
            return .integer(negative ? -magnitude : magnitude)
        }

        /// A fraction or an exponent, which the fast path leaves to Foundation.
        private static func continuesNumber(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.endIndex, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func take(_ word: StaticString) -> Bool {
            let word = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            guard bytes[index...].starts(with: word) else { return false }
            index += word.count
            return true
        }

        private mutating func skipWhitespace() {
            while index < bytes.endIndex {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }
    }

    /// Writes a JSON object with its keys in the order given (sorted, as ``JSONCoding/encoder`` sorts them).
    struct ObjectWriter {
        private(set) var buffer: ByteBuffer
        private var isFirst = true

        init(capacity: Int = 256) {
            buffer = ByteBufferAllocator().buffer(capacity: capacity)
            buffer.writeInteger(UInt8(ascii: "{"))
        }

        mutating func finish() -> ByteBuffer {
            buffer.writeInteger(UInt8(ascii: "}"))
            return buffer
        }

        mutating func integer(_ key: StaticString, _ value: some BinaryInteger) {
            self.key(key)
            buffer.writeString(String(value))
        }

        /// Only text that needs no escaping (``needsNoEscaping(_:)``), which callers check first.
        mutating func string(_ key: StaticString, _ value: String) {
            self.key(key)
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(value)
            buffer.writeInteger(UInt8(ascii: "\""))
        }

        /// An RFC 3339 UTC date-time in whole seconds, as `JSONEncoder`'s `.iso8601` writes it, or null.
        mutating func date(_ key: StaticString, _ value: Date?) {
            guard let value else {
                self.key(key)
                buffer.writeStaticString("null")
                return
            }
            string(key, FlatJSON.iso8601(value))
        }

        private mutating func key(_ key: StaticString) {
            if !isFirst { buffer.writeInteger(UInt8(ascii: ",")) }
            isFirst = false
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeStaticString(key)
            buffer.writeStaticString("\":")
        }
    }

    /// Whether `text` can be written between quotes as it is: no quote, backslash or control character.
    static func needsNoEscaping(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// Whether ``iso8601(_:)`` writes `date` as `JSONEncoder` would: years 1970 to 9999.
    static func writesDate(_ date: Date?) -> Bool {
        guard let date else { return true }
        return date.timeIntervalSince1970 >= 0 && date.timeIntervalSince1970 < 253_402_300_800
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the fraction of a second dropped. Within ``writesDate(_:)``'s years only.
    static func iso8601(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + "-" + two(month) + "-"
            + two(day) + "T" + two(secondOfDay / 3_600) + ":" + two(secondOfDay % 3_600 / 60) + ":"
            + two(secondOfDay % 60) + "Z"
    }
}

/// A request body the hot path may read from a flat object without a `JSONDecoder`.
protocol FlatJSONDecodable: Decodable {
    /// The value, or nil to leave the body to `JSONDecoder` (which then also gives the error, if any).
    init?(flat members: [String: FlatJSON.Value])
}
