import Foundation
import NIOHTTP1
import TurnstileReport
import TurnstileWire

/// The requests the suites send to the Turnstile API, and the shapes they read back (TurnstileWire's, which the
/// server answers with). Any server with the same API can be a target.
enum TurnstileAPI {
    // The shapes are TurnstileWire's, the server's own.
    typealias User = UserResponse
    typealias Token = TokenResponse
    typealias Event = EventResponse
    typealias Booking = BookingResponse
    typealias Bookings = BookingListResponse
    typealias Product = ProductResponse
    typealias Order = OrderResponse
    typealias Item = ItemResponse

    /// Only the id of what a write made: an acknowledgement counts however much else its body holds, so a suite's
    /// books never silently lose a 201 over a member it does not read.
    struct Created: Decodable {
        let id: Int64
    }

    static func register(email: String, username: String, password: String) -> LoadRequest {
        .json(
            endpoint: "register", .POST, "/api/v1/auth/register",
            body: encoded(RegisterBody(email: email, username: username, password: password)))
    }

    static func login(email: String, password: String) -> LoadRequest {
        .json(
            endpoint: "login", .POST, "/api/v1/auth/login", body: encoded(LoginBody(email: email, password: password)))
    }

    /// An event of `seats`; `seatsPerUserMax` lifts the service's per-person limit for suites whose users book the
    /// same event again and again (mixed traffic, faults), where the limit is not what they measure.
    static func createEvent(title: String, seats: Int, seatsPerUserMax: Int? = nil, token: String) -> LoadRequest {
        // 2030-01-01T20:00:00Z
        let event = NewEventBody(
            title: title, date: Date(timeIntervalSince1970: 1_893_528_000), seatCount: seats,
            seatsPerUserMax: seatsPerUserMax)
        return .json(endpoint: "create", .POST, "/api/v1/events/", body: encoded(event), token: token)
    }

    static func book(eventID: Int64, seats: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "book", .POST, "/api/v1/bookings/", body: #"{"event_id":\#(eventID),"seat_count":\#(seats)}"#,
            token: token, expected: .success(and: 409))
    }

    static func event(_ id: Int64, endpoint: String = "detail") -> LoadRequest {
        LoadRequest(endpoint: endpoint, method: .GET, path: "/api/v1/events/\(id)")
    }

    static func events(page: Int, pageSize: Int) -> LoadRequest {
        LoadRequest(endpoint: "browse", method: .GET, path: "/api/v1/events/?page=\(page)&page_size=\(pageSize)")
    }

    static func myBookings(token: String) -> LoadRequest {
        LoadRequest(
            endpoint: "mine", method: .GET, path: "/api/v1/bookings/", headers: ["Authorization": "Bearer \(token)"])
    }

    // MARK: Stock and orders

    static func createProduct(sku: String, stock: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "create product", .POST, "/api/v1/products/",
            body: encoded(NewProductBody(sku: sku, name: sku, priceCents: 1_000, stock: stock)), token: token)
    }

    static func order(productID: Int64, quantity: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "order", .POST, "/api/v1/orders/",
            body: #"{"product_id":\#(productID),"quantity":\#(quantity)}"#, token: token, expected: .success(and: 409))
    }

    // MARK: Auctions

    static func createItem(
        title: String, startingPriceCents: Int, minIncrementCents: Int, token: String
    )
        -> LoadRequest
    {
        .json(
            endpoint: "create item", .POST, "/api/v1/items/",
            body: encoded(
                NewItemBody(title: title, startingPriceCents: startingPriceCents, minIncrementCents: minIncrementCents)),
            token: token)
    }

    static func bid(itemID: Int64, amountCents: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "bid", .POST, "/api/v1/items/\(itemID)/bids", body: #"{"amount_cents":\#(amountCents)}"#,
            token: token, expected: .success(and: 409))
    }

    /// The user id an access token names: Turnstile's tokens are JWTs whose `sub` is the user's id.
    static func userID(inToken token: String) throws -> Int64 {
        struct Claims: Decodable { let sub: String }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        var payload = parts.count == 3 ? String(parts[1]) : ""
        payload = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        guard let data = Data(base64Encoded: payload), let claims = try? JSONDecoder().decode(Claims.self, from: data),
            let id = Int64(claims.sub)
        else {
            throw SetupError("the access token is not a JWT whose `sub` is a user id, so the user's id is unknown")
        }
        return id
    }

    /// A set-up body, as the server reads it. (The bodies sent under load, bookings, orders and bids, are written by
    /// hand for speed; a test decodes each with its wire type.)
    private static func encoded(_ body: some Encodable) -> String {
        // The wire types hold strings, whole numbers and dates only: encoding them cannot fail.
        String(decoding: try! WireJSON.encoder.encode(body), as: UTF8.self)
    }

    /// The path of an item's live feed.
    static func itemFeed(_ id: Int64) -> String { "/api/v1/items/\(id)/live" }
}
