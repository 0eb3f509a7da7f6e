import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TurnstileTestSupport
import TurnstileCore

@testable import TurnstileServer

/// Stock, credits, auctions, holds and the waitlist through the routes, in process over a scratch SQLite store: the
/// statuses and problem bodies each refusal gets.
@Suite("Resource routes")
struct ResourceRouterTests {
    private struct Client {
        let client: any TestClientProtocol
        let headers: HTTPFields

        func call(
            _ method: HTTPRequest.Method, _ uri: String, _ body: [String: Any]? = nil
        ) async throws
            -> (status: Int, json: [String: Any])
        {
            let buffer = try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
            let json =
                (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return (response.status.code, json ?? [:])
        }
    }

    private func withClient(_ body: @escaping @Sendable (Client) async throws -> Void) async throws {
        let configuration = ServerConfiguration(jwtSecret: Array(repeating: 9, count: 32), passwordHashRounds: 1)
        try await withScratchStore { store in
            try await Server(configuration: configuration, store: store).application().test(.router) { client in
                var headers: HTTPFields = [.contentType: "application/json"]
                let plain = Client(client: client, headers: headers)
                let credentials = ["email": "ada@example.com", "password": "correct horse"]
                _ = try await plain.call(
                    .post, "/api/v1/auth/register", credentials.merging(["username": "ada"]) { $1 })
                let token = try #require(
                    try await plain.call(.post, "/api/v1/auth/login", credentials).json["access_token"] as? String)
                headers[.authorization] = "Bearer \(token)"
                try await body(Client(client: client, headers: headers))
            }
        }
    }

    @Test("orders: 201 pending, 409 insufficient_stock with what is left, transitions, 409 with the current state")
    func orders() async throws {
        try await withClient { api in
            let product = try await api.call(
                .post, "/api/v1/products/", ["sku": "A1", "name": "Lamp", "price_cents": 500, "stock": 3])
            #expect(product.status == 201)
            #expect(
                try await api.call(
                    .post, "/api/v1/products/", ["sku": "A1", "name": "x", "price_cents": 1, "stock": 1]
                ).json["code"] as? String == "sku_taken")
            let productID = try #require(product.json["id"] as? Int)
            let order = try await api.call(.post, "/api/v1/orders/", ["product_id": productID, "quantity": 2])
            #expect(
                order.status == 201 && order.json["status"] as? String == "pending"
                    && order.json["total_cents"] as? Int == 1_000)
            let refused = try await api.call(.post, "/api/v1/orders/", ["product_id": productID, "quantity": 2])
            #expect(
                refused.status == 409 && refused.json["code"] as? String == "insufficient_stock"
                    && refused.json["available"] as? Int == 1)
            let orderID = try #require(order.json["id"] as? Int)
            let ship = try await api.call(.post, "/api/v1/orders/\(orderID)/ship")
            #expect(
                ship.status == 409 && ship.json["code"] as? String == "illegal_transition"
                    && ship.json["current_status"] as? String == "pending")
            #expect(try await api.call(.post, "/api/v1/orders/\(orderID)/pay").json["status"] as? String == "paid")
            #expect(
                try await api.call(.post, "/api/v1/orders/\(orderID)/cancel").json["status"] as? String == "cancelled")
            #expect(try await api.call(.get, "/api/v1/products/\(productID)").json["stock"] as? Int == 3)
            let listed = try await api.call(.get, "/api/v1/products/?page=1&page_size=5").json
            #expect(
                (listed["products"] as? [[String: Any]])?.compactMap { $0["sku"] as? String } == ["A1"]
                    && listed["total"] as? Int == 1 && listed["page"] as? Int == 1 && listed["page_size"] as? Int == 5)
            let summary = try await api.call(.get, "/api/v1/summary")
            #expect(
                summary.json["units_in_stock"] as? Int == 3
                    && (summary.json["orders"] as? [String: Int])?["cancelled"] == 1)
        }
    }

    @Test("credits: top-up, deduct, 402 insufficient_credits with the balance, keyed replays, the ledger")
    func credits() async throws {
        try await withClient { api in
            #expect(try await api.call(.get, "/api/v1/credits/balance").json["balance"] as? Int == 0)
            #expect(try await api.call(.post, "/api/v1/credits/topup", ["amount": 30]).status == 200)
            let deducted = try await api.call(.post, "/api/v1/credits/deduct", ["amount": 25, "reason": "report"])
            #expect((deducted.json["account"] as? [String: Any])?["low_balance"] as? Bool == true)
            let refused = try await api.call(.post, "/api/v1/credits/deduct", ["amount": 6, "reason": "report"])
            #expect(
                refused.status == 402 && refused.json["code"] as? String == "insufficient_credits"
                    && refused.json["balance"] as? Int == 5)
            let balance = try await api.call(.get, "/api/v1/credits/balance").json
            #expect(balance["balance"] as? Int == 5 && balance["used"] as? Int == 25 && balance["total"] as? Int == 30)
            let ledger = try #require(
                try await api.call(.get, "/api/v1/credits/transactions").json["transactions"] as? [[String: Any]])
            #expect(ledger.compactMap { $0["amount"] as? Int } == [-25, 30])
            #expect(try await api.call(.post, "/api/v1/credits/topup", ["amount": 0]).status == 422)
        }
    }

    /// Registers and logs in a second user, `name`, beside the client's own.
    private func anotherUser(_ api: Client, _ name: String) async throws -> Client {
        let plain = Client(client: api.client, headers: [.contentType: "application/json"])
        let credentials = ["email": "\(name)@example.com", "password": "correct horse"]
        _ = try await plain.call(.post, "/api/v1/auth/register", credentials.merging(["username": name]) { $1 })
        let token = try #require(
            try await plain.call(.post, "/api/v1/auth/login", credentials).json["access_token"] as? String)
        return Client(
            client: api.client, headers: [.contentType: "application/json", .authorization: "Bearer \(token)"])
    }

    @Test("bids: 201 when highest, 409 bid_too_low or own_item, 422 past the top, 410 once closed")
    func bids() async throws {
        try await withClient { seller in
            let bidder = try await anotherUser(seller, "bob")
            let item = try await seller.call(
                .post, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10])
            let itemID = try #require(item.json["id"] as? Int)
            #expect(item.json["current_bid_cents"] is NSNull && item.json["min_next_cents"] as? Int == 100)
            let own = try await seller.call(.post, "/api/v1/items/\(itemID)/bids", ["amount_cents": 500])
            #expect(own.status == 409 && own.json["code"] as? String == "own_item")
            #expect(try await bidder.call(.post, "/api/v1/items/\(itemID)/bids", ["amount_cents": 100]).status == 201)
            let low = try await bidder.call(.post, "/api/v1/items/\(itemID)/bids", ["amount_cents": 105])
            #expect(
                low.status == 409 && low.json["current_bid_cents"] as? Int == 100
                    && low.json["min_next_cents"] as? Int == 110)
            let state = try await bidder.call(.get, "/api/v1/items/\(itemID)").json
            #expect(state["bid_count"] as? Int == 1 && state["highest_bidder"] as? Int == 2)
            // The highest bid leaves room for the increment: an auction can always be outbid.
            let top = try await bidder.call(
                .post, "/api/v1/items/\(itemID)/bids", ["amount_cents": Limits.priceCentsMax])
            #expect(top.status == 422 && top.json["field"] as? String == "amount_cents")
            #expect(
                try await bidder.call(
                    .post, "/api/v1/items/\(itemID)/bids", ["amount_cents": Limits.priceCentsMax - 10]
                ).status == 201)
            let api = seller
            let past = try await api.call(
                .post, "/api/v1/items/",
                [
                    "title": "Old", "starting_price_cents": 1, "min_increment_cents": 1,
                    "ends_at": "2000-01-01T00:00:00Z",
                ])
            #expect(past.status == 422 && past.json["field"] as? String == "ends_at")
            #expect(try await api.call(.get, "/api/v1/items/999").status == 404)
        }
    }

    @Test("an event's per-person limit counts holds and bookings; past it, 409 user_limit_reached with what is left")
    func perPersonLimit() async throws {
        try await withClient { api in
            let bad = try await api.call(
                .post, "/api/v1/events/",
                ["title": "Gig", "date": "2027-01-01T20:00:00Z", "seat_count": 50, "max_seats_per_user": 0])
            #expect(bad.status == 422 && bad.json["field"] as? String == "max_seats_per_user")
            let event = try await api.call(
                .post, "/api/v1/events/",
                ["title": "Gig", "date": "2027-01-01T20:00:00Z", "seat_count": 50, "max_seats_per_user": 3])
            #expect(event.json["max_seats_per_user"] as? Int == 3)
            let eventID = try #require(event.json["id"] as? Int)
            let held = try await api.call(
                .post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 2, "hold_seconds": 60])
            #expect(held.status == 201)
            let past = try await api.call(.post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 2])
            #expect(past.status == 409 && past.json["code"] as? String == "user_limit_reached")
            #expect(past.json["available"] as? Int == 1 && past.json["requested"] as? Int == 2)
            #expect(
                try await api.call(.post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1]).status == 201)
            let plain = try await api.call(
                .post, "/api/v1/events/", ["title": "Gig", "date": "2027-01-01T20:00:00Z", "seat_count": 50])
            #expect(plain.json["max_seats_per_user"] as? Int == Limits.seatsPerUserPerEventDefault)
        }
    }

    @Test("holds confirm; a sold-out event puts waitlist requests in line with 202 and their position")
    func holdsAndWaitlist() async throws {
        try await withClient { api in
            let event = try await api.call(
                .post, "/api/v1/events/", ["title": "Gig", "date": "2027-01-01T20:00:00Z", "seat_count": 1])
            let eventID = try #require(event.json["id"] as? Int)
            let hold = try await api.call(
                .post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "hold_seconds": 60])
            #expect(hold.status == 201 && hold.json["status"] as? String == "held" && hold.json["expires_at"] is String)
            let holdID = try #require(hold.json["id"] as? Int)
            #expect(
                try await api.call(.post, "/api/v1/bookings/\(holdID)/confirm").json["status"] as? String == "confirmed"
            )
            let queued = try await api.call(
                .post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "waitlist": true])
            #expect(queued.status == 202 && queued.json["waitlist_position"] as? Int == 1)
            let refused = try await api.call(.post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1])
            #expect(refused.status == 409)
            #expect(
                try await api.call(
                    .post, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "hold_seconds": 0]
                ).status == 422)
        }
    }
}
