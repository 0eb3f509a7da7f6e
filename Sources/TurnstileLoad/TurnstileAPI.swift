import NIOHTTP1
import TurnstileReport

/// The shapes of the Turnstile API the suites use, and the requests that produce them. Any server with the same
/// API can be a target.
enum TurnstileAPI {
    struct User: Decodable {
        let id: Int64
    }

    struct Token: Decodable {
        let accessToken: String

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
        }
    }

    struct Event: Decodable {
        let id: Int64
        let seatCount: Int
        let availableSeats: Int

        enum CodingKeys: String, CodingKey {
            case id
            case seatCount = "seat_count"
            case availableSeats = "available_seats"
        }
    }

    struct Booking: Decodable {
        let id: Int64
        let eventID: Int64
        let seatCount: Int
        let status: String

        enum CodingKeys: String, CodingKey {
            case id, status
            case eventID = "event_id"
            case seatCount = "seat_count"
        }
    }

    struct Bookings: Decodable {
        let bookings: [Booking]
    }

    struct Product: Decodable {
        let id: Int64
        let stock: Int
    }

    struct Order: Decodable {
        let id: Int64
        let productID: Int64
        let quantity: Int
        let status: String

        enum CodingKeys: String, CodingKey {
            case id, quantity, status
            case productID = "product_id"
        }
    }

    struct Item: Decodable {
        let id: Int64
        let currentBidCents: Int?
        let bidCount: Int

        enum CodingKeys: String, CodingKey {
            case id
            case currentBidCents = "current_bid_cents"
            case bidCount = "bid_count"
        }
    }

    static func register(email: String, username: String, password: String) -> LoadRequest {
        .json(
            endpoint: "register", .POST, "/api/v1/auth/register",
            body: #"{"email":"\#(email)","username":"\#(username)","password":"\#(password)"}"#)
    }

    static func login(email: String, password: String) -> LoadRequest {
        .json(endpoint: "login", .POST, "/api/v1/auth/login", body: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    /// An event of `seats`; `seatsPerUserMax` lifts the service's per-person limit for suites whose users book the
    /// same event again and again (mixed traffic, faults), where the limit is not what they measure.
    static func createEvent(title: String, seats: Int, seatsPerUserMax: Int? = nil, token: String) -> LoadRequest {
        let limit = seatsPerUserMax.map { #","max_seats_per_user":\#($0)"# } ?? ""
        return .json(
            endpoint: "create", .POST, "/api/v1/events/",
            body: #"{"title":"\#(title)","date":"2030-01-01T20:00:00Z","seat_count":\#(seats)\#(limit)}"#, token: token)
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
            body: #"{"sku":"\#(sku)","name":"\#(sku)","price_cents":1000,"stock":\#(stock)}"#, token: token)
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
            body:
                #"{"title":"\#(title)","starting_price_cents":\#(startingPriceCents),"min_increment_cents":\#(minIncrementCents)}"#,
            token: token)
    }

    static func bid(itemID: Int64, amountCents: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "bid", .POST, "/api/v1/items/\(itemID)/bids", body: #"{"amount_cents":\#(amountCents)}"#,
            token: token, expected: .success(and: 409))
    }

    /// The path of an item's live feed.
    static func itemFeed(_ id: Int64) -> String { "/api/v1/items/\(id)/live" }
}
