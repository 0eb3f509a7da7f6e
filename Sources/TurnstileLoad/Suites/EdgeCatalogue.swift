import Foundation
import NIOCore

/// What one bad input may be answered with. Anything else, any 5xx, a hang or a reset fails the case.
public struct EdgeCase: Sendable {
    public let name: String
    /// The statuses that pass; a 4xx must also be problem+json.
    public let expected: Set<Int>
    /// Also passes when the server closes the connection without answering (a request that never finishes).
    public let silentClosePasses: Bool
    /// How long the case may take before it counts as a hang.
    public let timeout: TimeAmount
    let request: @Sendable (EdgeFixture) -> [UInt8]

    init(
        _ name: String, _ expected: Set<Int>, silentClosePasses: Bool = false, timeout: TimeAmount = .seconds(10),
        _ request: @escaping @Sendable (EdgeFixture) -> [UInt8]
    ) {
        self.name = name
        self.expected = expected
        self.silentClosePasses = silentClosePasses
        self.timeout = timeout
        self.request = request
    }

    /// "422", "400|422", "201"…
    public var expectedDescription: String {
        expected.sorted().map(String.init).joined(separator: "|") + (silentClosePasses ? "|closed" : "")
    }
}

/// What the catalogue's requests refer to: two users and one of each thing, the first user's.
struct EdgeFixture: Sendable {
    let target: LoadTarget
    let owner: VirtualUser
    let other: VirtualUser
    let eventID: Int64
    let productID: Int64
    let itemID: Int64
    let bookingID: Int64
    let orderID: Int64

    /// A raw HTTP/1.1 request that asks the server to close afterwards. `Content-Length` is the body's unless given.
    func raw(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        contentLength: Int? = nil
    ) -> [UInt8] {
        var head = "\(method) \(target.basePath)\(path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) { head += "Connection: close\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || contentLength != nil || ["POST", "PUT", "PATCH"].contains(method) {
            head += "Content-Length: \(contentLength ?? body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + body
    }

    /// A JSON body (sent as given, valid or not) with the owner's token unless told otherwise.
    func json(_ method: String, _ path: String, _ body: String, token: String?? = .none) -> [UInt8] {
        var headers = [("Content-Type", "application/json")]
        if let token = token ?? owner.token { headers.append(("Authorization", "Bearer \(token)")) }
        return raw(method, path, headers: headers, body: Array(body.utf8))
    }

    /// A GET, with the owner's token when `authenticated`.
    func get(_ path: String, authenticated: Bool = false) -> [UInt8] {
        raw("GET", path, headers: authenticated ? [("Authorization", "Bearer \(owner.token)")] : [])
    }
}

extension EdgeCatalogue {
    private static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// An unsigned token that claims to be user 1.
    static let algNoneToken =
        base64URL(#"{"alg":"none","typ":"JWT"}"#) + "." + base64URL(#"{"sub":"1","exp":99999999999}"#) + "."
}

/// The bad inputs the `edge` suite sends, across every endpoint: each must get its 4xx (as problem+json), never a
/// 5xx, a hang or a reset.
public enum EdgeCatalogue {
    static let event = "/api/v1/events/"
    static let booking = "/api/v1/bookings/"
    static let validEvent = #""title":"Edge","date":"2027-06-01T20:00:00Z","seat_count":5"#

    public static let cases: [EdgeCase] = auth + events + bookings + transport + stock + credits + auctions + live

    static let auth: [EdgeCase] = [
        EdgeCase("register: malformed JSON", [400]) { $0.json("POST", "/api/v1/auth/register", #"{"email":"#) },
        EdgeCase("register: empty body", [400]) { $0.json("POST", "/api/v1/auth/register", "") },
        EdgeCase("register: an array, not an object", [400, 422]) { $0.json("POST", "/api/v1/auth/register", "[]") },
        EdgeCase("register: JSON null", [400, 422]) { $0.json("POST", "/api/v1/auth/register", "null") },
        EdgeCase("register: email is a number", [422]) {
            $0.json("POST", "/api/v1/auth/register", #"{"email":42,"username":"edge","password":"password1"}"#)
        },
        EdgeCase("register: password missing", [422]) {
            $0.json("POST", "/api/v1/auth/register", #"{"email":"e@t.io","username":"edge"}"#)
        },
        EdgeCase("register: password too short", [422]) {
            $0.json("POST", "/api/v1/auth/register", #"{"email":"e@t.io","username":"edge","password":"short"}"#)
        },
        EdgeCase("register: a 300-character email", [422]) {
            $0.json(
                "POST", "/api/v1/auth/register",
                #"{"email":"\#(String(repeating: "a", count: 300))@t.io","username":"edge","password":"password1"}"#)
        },
        EdgeCase("register: invalid UTF-8 in the body", [400]) {
            $0.raw(
                "POST", "/api/v1/auth/register", headers: [("Content-Type", "application/json")],
                body: Array(#"{"email":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#"","password":"password1"}"#.utf8))
        },
        EdgeCase("login: wrong password", [401]) {
            $0.json("POST", "/api/v1/auth/login", #"{"email":"nobody@t.io","password":"password1"}"#)
        },
        EdgeCase("login: SQL injection in the email", [401, 422]) {
            $0.json("POST", "/api/v1/auth/login", #"{"email":"' OR '1'='1' --","password":"x' OR 'x'='x"}"#)
        },
        EdgeCase("login: fields missing", [422]) { $0.json("POST", "/api/v1/auth/login", "{}") },
    ]

    static let events: [EdgeCase] = [
        EdgeCase("create event: no token", [401]) { $0.json("POST", event, "{\(validEvent)}", token: .some(nil)) },
        EdgeCase("create event: malformed token", [401]) {
            $0.json("POST", event, "{\(validEvent)}", token: "not.a.token")
        },
        EdgeCase("create event: alg none token", [401]) {
            $0.json("POST", event, "{\(validEvent)}", token: algNoneToken)
        },
        EdgeCase("create event: zero seats", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":0}"#)
        },
        EdgeCase("create event: negative seats", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":-5}"#)
        },
        EdgeCase("create event: seats as a float", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":1.5}"#)
        },
        EdgeCase("create event: seats as a string", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":"10"}"#)
        },
        EdgeCase("create event: seats past 64 bits", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":9223372036854775808}"#)
        },
        EdgeCase("create event: seats 1e400", [400, 422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":1e400}"#)
        },
        EdgeCase("create event: seats null", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"2027-06-01T20:00:00Z","seat_count":null}"#)
        },
        EdgeCase("create event: date as dd/mm/yyyy", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"31/12/2027","seat_count":5}"#)
        },
        EdgeCase("create event: date as words", [422]) {
            $0.json("POST", event, #"{"title":"E","date":"tomorrow night","seat_count":5}"#)
        },
        EdgeCase("create event: empty title", [422]) {
            $0.json("POST", event, #"{"title":"","date":"2027-06-01T20:00:00Z","seat_count":5}"#)
        },
        EdgeCase("create event: a 10,000-character title", [422]) {
            $0.json(
                "POST", event,
                #"{"title":"\#(String(repeating: "t", count: 10_000))","date":"2027-06-01T20:00:00Z","seat_count":5}"#)
        },
        EdgeCase("create event: emoji, accents and right-to-left text are fine", [201]) {
            $0.json(
                "POST", event, #"{"title":"🎟️ Café \u202Eevil\u202C ☃","date":"2027-06-01T20:00:00Z","seat_count":5}"#)
        },
        EdgeCase("create event: a NUL character in the title", [201, 422]) {
            $0.json("POST", event, #"{"title":"a\u0000b","date":"2027-06-01T20:00:00Z","seat_count":5}"#)
        },
        EdgeCase("create event: JSON nested 10,000 deep", [400, 422]) {
            $0.json(
                "POST", event, String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
            )
        },
        EdgeCase("event: unknown id", [404]) { $0.get("/api/v1/events/999999999") },
        EdgeCase("event: id not a number", [404, 422]) { $0.get("/api/v1/events/abc") },
        EdgeCase("event: negative id", [404, 422]) { $0.get("/api/v1/events/-1") },
        EdgeCase("event: id past 64 bits", [404, 422]) { $0.get("/api/v1/events/99999999999999999999999") },
        EdgeCase("event: path traversal", [400, 404, 422]) { $0.get("/api/v1/events/..%2F..%2F..%2Fetc%2Fpasswd") },
        EdgeCase("event: SQL injection in the id", [400, 404, 422]) {
            $0.get("/api/v1/events/1%20OR%201=1;%20DROP%20TABLE%20events")
        },
        EdgeCase("events: page 0", [422]) { $0.get("/api/v1/events/?page=0") },
        EdgeCase("events: page size 1,000", [422]) { $0.get("/api/v1/events/?page_size=1000") },
        EdgeCase("events: page not a number", [422]) { $0.get("/api/v1/events/?page=abc") },
    ]

    static let bookings: [EdgeCase] = [
        EdgeCase("book: unknown event", [404]) { $0.json("POST", booking, #"{"event_id":999999999,"seat_count":1}"#) },
        EdgeCase("book: zero seats", [422]) {
            $0.json("POST", booking, #"{"event_id":\#($0.eventID),"seat_count":0}"#)
        },
        EdgeCase("book: eleven seats", [422]) {
            $0.json("POST", booking, #"{"event_id":\#($0.eventID),"seat_count":11}"#)
        },
        EdgeCase("book: SQL injection as the event id", [422]) {
            $0.json("POST", booking, #"{"event_id":"1; DROP TABLE bookings","seat_count":1}"#)
        },
        EdgeCase("book: negative hold", [422]) {
            $0.json("POST", booking, #"{"event_id":\#($0.eventID),"seat_count":1,"hold_seconds":-60}"#)
        },
        EdgeCase("book: waitlist as a string", [422]) {
            $0.json("POST", booking, #"{"event_id":\#($0.eventID),"seat_count":1,"waitlist":"yes"}"#)
        },
        EdgeCase("book: an array of bookings", [400, 422]) {
            $0.json("POST", booking, #"[{"event_id":\#($0.eventID),"seat_count":1}]"#)
        },
        EdgeCase("book: a 500-character Idempotency-Key", [422]) {
            $0.raw(
                "POST", booking,
                headers: [
                    ("Content-Type", "application/json"), ("Authorization", "Bearer \($0.owner.token)"),
                    ("Idempotency-Key", String(repeating: "k", count: 500)),
                ], body: Array(#"{"event_id":\#($0.eventID),"seat_count":1}"#.utf8))
        },
        EdgeCase("cancel: another user's booking", [404]) {
            $0.raw(
                "DELETE", "/api/v1/bookings/\($0.bookingID)", headers: [("Authorization", "Bearer \($0.other.token)")])
        },
        EdgeCase("cancel: unknown booking", [404]) {
            $0.raw("DELETE", "/api/v1/bookings/999999999", headers: [("Authorization", "Bearer \($0.owner.token)")])
        },
        EdgeCase("confirm: another user's hold", [404]) {
            $0.raw(
                "POST", "/api/v1/bookings/\($0.bookingID)/confirm",
                headers: [("Authorization", "Bearer \($0.other.token)")])
        },
    ]

    static let transport: [EdgeCase] = [
        EdgeCase("content type text/plain", [415]) {
            $0.raw(
                "POST", booking,
                headers: [("Content-Type", "text/plain"), ("Authorization", "Bearer \($0.owner.token)")],
                body: Array(#"{"event_id":\#($0.eventID),"seat_count":1}"#.utf8))
        },
        EdgeCase("content type form-urlencoded", [415]) {
            $0.raw(
                "POST", booking,
                headers: [
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", "Bearer \($0.owner.token)"),
                ], body: Array("event_id=\($0.eventID)&seat_count=1".utf8))
        },
        EdgeCase("a 1 MiB body", [413]) {
            $0.json("POST", booking, #"{"event_id":1,"pad":""# + String(repeating: "x", count: 1 << 20) + #""}"#)
        },
        EdgeCase("a 100 KiB header", [400, 413, 431], silentClosePasses: true) {
            $0.raw("GET", "/api/v1/events/", headers: [("X-Padding", String(repeating: "p", count: 100 * 1024))])
        },
        EdgeCase("an unknown method on a collection", [404, 405]) { $0.raw("PATCH", "/api/v1/events/") },
        EdgeCase("an unknown route", [404]) { $0.get("/api/v1/nothing-here") },
        EdgeCase(
            "a body shorter than its Content-Length, never finished", [408], silentClosePasses: true,
            timeout: .seconds(20)
        ) {
            $0.raw(
                "POST", booking,
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \($0.owner.token)")],
                body: Array(#"{"event_id":"#.utf8), contentLength: 1_000)
        },
    ]

    static let stock: [EdgeCase] = [
        EdgeCase("product: negative price", [422]) {
            $0.json("POST", "/api/v1/products/", #"{"sku":"EDGE-N","name":"N","price_cents":-1,"stock":5}"#)
        },
        EdgeCase("product: stock as a float", [422]) {
            $0.json("POST", "/api/v1/products/", #"{"sku":"EDGE-F","name":"F","price_cents":100,"stock":2.5}"#)
        },
        EdgeCase("order: zero units", [422]) {
            $0.json("POST", "/api/v1/orders/", #"{"product_id":\#($0.productID),"quantity":0}"#)
        },
        EdgeCase("order: a trillion units", [422]) {
            $0.json("POST", "/api/v1/orders/", #"{"product_id":\#($0.productID),"quantity":1000000000000}"#)
        },
        EdgeCase("order: unknown product", [404]) {
            $0.json("POST", "/api/v1/orders/", #"{"product_id":999999999,"quantity":1}"#)
        },
        EdgeCase("order: pay another user's order", [404]) {
            $0.raw("POST", "/api/v1/orders/\($0.orderID)/pay", headers: [("Authorization", "Bearer \($0.other.token)")])
        },
        EdgeCase("order: ship before paying", [409]) {
            $0.raw(
                "POST", "/api/v1/orders/\($0.orderID)/ship", headers: [("Authorization", "Bearer \($0.owner.token)")])
        },
        EdgeCase("order: an unknown transition", [404]) {
            $0.raw(
                "POST", "/api/v1/orders/\($0.orderID)/refund", headers: [("Authorization", "Bearer \($0.owner.token)")])
        },
    ]

    static let credits: [EdgeCase] = [
        EdgeCase("top up: zero", [422]) { $0.json("POST", "/api/v1/credits/topup", #"{"amount":0}"#) },
        EdgeCase("top up: negative", [422]) { $0.json("POST", "/api/v1/credits/topup", #"{"amount":-100}"#) },
        EdgeCase("deduct: more than the balance", [402]) {
            $0.json("POST", "/api/v1/credits/deduct", #"{"amount":1000000,"reason":"edge"}"#)
        },
        EdgeCase("deduct: amount as a string", [422]) {
            $0.json("POST", "/api/v1/credits/deduct", #"{"amount":"5","reason":"edge"}"#)
        },
        EdgeCase("deduct: reason missing", [422]) { $0.json("POST", "/api/v1/credits/deduct", #"{"amount":5}"#) },
        EdgeCase("balance: no token", [401]) { $0.get("/api/v1/credits/balance") },
    ]

    static let auctions: [EdgeCase] = [
        EdgeCase("bid: below the next minimum", [409]) {
            $0.json("POST", "/api/v1/items/\($0.itemID)/bids", #"{"amount_cents":1}"#)
        },
        EdgeCase("bid: negative", [422]) {
            $0.json("POST", "/api/v1/items/\($0.itemID)/bids", #"{"amount_cents":-5}"#)
        },
        EdgeCase("bid: unknown item", [404]) {
            $0.json("POST", "/api/v1/items/999999999/bids", #"{"amount_cents":500}"#)
        },
        EdgeCase("item: an end date in the wrong format", [422]) {
            $0.json(
                "POST", "/api/v1/items/",
                #"{"title":"I","starting_price_cents":100,"min_increment_cents":10,"ends_at":"next week"}"#)
        },
        EdgeCase("item: an end date in the past", [422]) {
            $0.json(
                "POST", "/api/v1/items/",
                #"{"title":"I","starting_price_cents":100,"min_increment_cents":10,"ends_at":"2001-01-01T00:00:00Z"}"#)
        },
    ]

    static let live: [EdgeCase] = [
        EdgeCase("live feed: a plain GET", [426]) { $0.get("/api/v1/items/\($0.itemID)/live") },
        EdgeCase("live feed: an unknown item", [404]) {
            $0.raw(
                "GET", "/api/v1/items/999999999/live",
                headers: [
                    ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ])
        },
        EdgeCase("live feed: a broken handshake", [400]) {
            $0.raw(
                "GET", "/api/v1/items/\($0.itemID)/live",
                headers: [("Upgrade", "websocket"), ("Connection", "Upgrade")])
        },
    ]
}
