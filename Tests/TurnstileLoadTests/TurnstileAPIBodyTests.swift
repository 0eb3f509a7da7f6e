import Foundation
import NIOCore
import Testing
import TurnstileWire

@testable import TurnstileLoad

/// The engine's requests to the Turnstile API carry bodies the server reads: each decodes, with the values put in,
/// as the shared wire type the server decodes it with.
@Suite("Turnstile API bodies")
struct TurnstileAPIBodyTests {
    private func decode<Body: Decodable>(_ type: Body.Type, _ request: LoadRequest) throws -> Body {
        let body = try #require(request.body)
        return try WireJSON.decoder.decode(type, from: Data(body.readableBytesView))
    }

    @Test("the bodies written by hand for speed (bookings, orders, bids) are the wire types' own")
    func loadBodies() throws {
        #expect(
            try decode(NewBookingBody.self, TurnstileAPI.book(eventID: 7, seats: 2, token: "t"))
                == NewBookingBody(eventID: 7, seatCount: 2))
        #expect(
            try decode(NewOrderBody.self, TurnstileAPI.order(productID: 3, quantity: 4, token: "t"))
                == NewOrderBody(productID: 3, quantity: 4))
        #expect(
            try decode(BidBody.self, TurnstileAPI.bid(itemID: 5, amountCents: 1_250, token: "t"))
                == BidBody(amountCents: 1_250))
    }

    @Test("set-up bodies are encoded from the wire types, quotes and all")
    func setUpBodies() throws {
        #expect(
            try decode(
                RegisterBody.self, TurnstileAPI.register(email: "a\"b@x.io", username: "ada", password: "pw\\1"))
                == RegisterBody(email: "a\"b@x.io", username: "ada", password: "pw\\1"))
        let event = try decode(
            NewEventBody.self, TurnstileAPI.createEvent(title: "Gig", seats: 10, seatsPerUserMax: 10, token: "t"))
        #expect(event.seatCount == 10 && event.seatsPerUserMax == 10)
        #expect(event.date == WireJSON.parseDate("2030-01-01T20:00:00Z"))
    }
}
