import Foundation
import NIOCore
import Testing
import TurnstileCore
import TurnstileWire

@testable import TurnstileServer

/// The hot path's direct JSON must read and write exactly what Foundation's coders do, or leave the input to them.
@Suite("Flat JSON")
struct FlatJSONTests {
    @Test(
        "common booking bodies are read directly, as JSONDecoder reads them",
        arguments: [
            #"{"event_id":1,"seat_count":1}"#, #" { "seat_count" : 2 ,"event_id":9007199254740993 }"#,
            #"{"event_id":7,"seat_count":3,"hold_seconds":60}"#, #"{"event_id":7,"seat_count":3,"hold_seconds":null}"#,
            #"{"event_id":7,"seat_count":1,"waitlist":true}"#,
            "{\"event_id\":-5,\n\"seat_count\":0,\"waitlist\":false}",
        ])
    func readsCommonBodies(_ body: String) throws {
        let fast = try #require(Self.fast(body))
        let slow = try JSONCoding.decode(NewBookingBody.self, from: Data(body.utf8))
        #expect(Self.fields(fast) == Self.fields(slow))
    }

    @Test(
        "anything less plain is left to JSONDecoder, which answers (or refuses) it as before",
        arguments: [
            #"{"event_id":1.0,"seat_count":1}"#, #"{"event_id":01,"seat_count":1}"#, #"{"event_id":-0,"seat_count":1}"#,
            #"{"event_id":1e2,"seat_count":1}"#, #"{"event_id":1,"seat_count":1,"event_id":2}"#,
            #"{"event_id":"1","seat_count":1}"#, #"{"event_id":1,"seat_count":1,"extra":1}"#, #"{"event_id":1}"#,
            #"[1]"#, #"{"event_id":1,"seat_count":1}x"#, #"{"event_id":99999999999999999999,"seat_count":1}"#,
            #"{"event_id":1,"seat_count":1,"waitlist":null}"#, #"{"event_id":1,"seat_count":1,"hold_seconds":true}"#,
            #"{"ev\u0065nt_id":1,"seat_count":1}"#, #"{"event_id":1,"seat_count":1,}"#, "", "{",
        ])
    func leavesTheRest(_ body: String) {
        #expect(Self.fast(body) == nil)
    }

    @Test("a booking is written byte for byte as JSONEncoder writes it, held or not")
    func writesBookings() throws {
        let created = Date(timeIntervalSince1970: 1_798_761_600.999)
        let bookings = [
            Booking(
                id: 1, userID: 2, eventID: 3, seatCount: 4, status: .confirmed, expiresAt: nil, createdAt: created),
            Booking(
                id: 9_007_199_254_740_993, userID: 12, eventID: 30, seatCount: 1, status: .held,
                expiresAt: created.addingTimeInterval(600.5), createdAt: created),
        ]
        for booking in bookings {
            let response = BookingResponse(booking)
            let direct = try #require(response.flatJSON)
            #expect(Array(direct.readableBytesView) == Array(try JSONCoding.encoder.encode(response)))
        }
    }

    @Test("dates from 1970 to 9999 are written as JSONEncoder's .iso8601 writes them")
    func writesDates() throws {
        var generator = SystemRandomNumberGenerator()
        let edges: [Double] = [0, 0.999, 951_782_400, 253_402_300_799.999, 1_798_761_599.5, 4_107_542_400]
        let random = (0..<2_000).map { _ in Double.random(in: 0..<253_402_300_800, using: &generator) }
        for seconds in edges + random {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(FlatJSON.writesDate(date))
            let encoded = String(decoding: try JSONCoding.encoder.encode([date]), as: UTF8.self)
            #expect(encoded == "[\"\(FlatJSON.iso8601(date))\"]", "at \(seconds)")
        }
        #expect(!FlatJSON.writesDate(Date(timeIntervalSince1970: -1)))
    }

    private static func fast(_ body: String) -> NewBookingBody? {
        FlatJSON.object(Array(body.utf8)).flatMap(NewBookingBody.init(flat:))
    }

    private static func fields(_ body: NewBookingBody) -> [Int64?] {
        [body.eventID, Int64(body.seatCount), body.holdSeconds.map(Int64.init), body.waitlist ? 1 : 0]
    }
}
