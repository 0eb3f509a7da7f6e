import Foundation
import Testing

@testable import TurnstileServer

@Suite("JSON coding")
struct JSONCodingTests {
    @Test(
        "RFC 3339 date-times parse with fractions, offsets and lower-case t and z",
        arguments: [
            ("2027-01-01T00:00:00Z", 1_798_761_600.0), ("2027-01-01t00:00:00z", 1_798_761_600),
            ("2027-01-01T00:00:00.5Z", 1_798_761_600.5), ("2027-01-01T01:00:00+01:00", 1_798_761_600),
            ("2028-02-29T00:00:00Z", 1_835_395_200),
            // RFC 3339 offsets go to ±23:59; Foundation's parser stops at ±18:00 (schemathesis found it).
            ("2027-01-01T19:32:00+19:32", 1_798_761_600), ("2026-12-31T04:28:00.25-19:32", 1_798_761_600.25),
            ("2027-01-01T00:00:00-00:00", 1_798_761_600),
            // Any number of fraction digits; Foundation's parser stops at 9 (schemathesis found it).
            ("2027-01-01T00:00:00.50000000000000000001Z", 1_798_761_600.5),
            ("2026-12-31t23:00:00.2500000000001+23:00", 1_798_675_200.25),
        ])
    func dates(_ text: String, _ seconds: Double) throws {
        let date = try #require(JSONCoding.parseDate(text))
        #expect(date.timeIntervalSince1970 == seconds)
    }

    @Test(
        "text that is not an RFC 3339 date-time, or names a day the calendar lacks, is refused",
        arguments: [
            "2027-01-01", "tomorrow", "2027-01-01 00:00", "2027-02-29T00:00:00Z", "2027-04-31T00:00:00Z",
            "2027-13-01T00:00:00Z", "2027-01-01T00:00:00+24:00", "2027-01-01T00:00:00+01:60",
            "2027-01-01T00:00:00+0100", "2027-01-01T00:00:00 01:00", "2027-01-01T00:00:00",
            // Foundation reads these as 13:39 and the next day's 00:00:00 (schemathesis found the first).
            "2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:00:61Z",
            "2027-01-01T00:00:00.Z", "2027-01-01T00:00:00.1234567890xZ",
        ])
    func notDates(_ text: String) {
        #expect(JSONCoding.parseDate(text) == nil)
    }
}
