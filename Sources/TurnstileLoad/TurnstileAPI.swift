import NIOHTTP1

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

    static func register(email: String, username: String, password: String) -> LoadRequest {
        .json(
            endpoint: "register", .POST, "/api/v1/auth/register",
            body: #"{"email":"\#(email)","username":"\#(username)","password":"\#(password)"}"#)
    }

    static func login(email: String, password: String) -> LoadRequest {
        .json(endpoint: "login", .POST, "/api/v1/auth/login", body: #"{"email":"\#(email)","password":"\#(password)"}"#)
    }

    static func createEvent(title: String, seats: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "create", .POST, "/api/v1/events/",
            body: #"{"title":"\#(title)","date":"2030-01-01T20:00:00Z","seat_count":\#(seats)}"#, token: token)
    }

    static func book(eventID: Int64, seats: Int, token: String) -> LoadRequest {
        .json(
            endpoint: "book", .POST, "/api/v1/bookings/", body: #"{"event_id":\#(eventID),"seat_count":\#(seats)}"#,
            token: token)
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
}
