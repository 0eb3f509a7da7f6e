import HTTPTypes
import TurnstileCore

/// One operation of the API, described once: the router registers its handler through it (``EndpointRoutes``), with
/// the middleware its ``Access`` calls for; the OpenAPI document (``OpenAPIDocument``) and the `Allow` header of a
/// 405 are derived from ``all``. A new endpoint is one descriptor here and its handler.
struct Endpoint: Sendable {
    /// Who may call it, and which budget a call spends.
    enum Access: Sendable {
        /// Anyone, with no budget: the index, health, metrics, the document, the summary, the live feeds.
        case open
        /// Anyone, spending the client address's budget for sign-ups and logins (`--auth-rate-limit`).
        case signIn
        /// Anyone, spending the client address's budget for public reads (`--read-rate-limit`).
        case publicRead
        /// A bearer token's user, spending that user's budget (`--rate-limit`).
        case authenticated
    }

    /// One answer it may give, as the document describes it.
    enum Answer: Sendable {
        /// JSON of the schema named; `links` name the operations that take its `id` as their path's `{id}`.
        case json(_ schema: String, _ description: String = "Success.", links: [String] = [])
        /// A problem+json refusal with one of `codes`.
        case problem(_ description: String, _ codes: [String])
        /// Text of a given media type.
        case text(_ description: String, mediaType: String)
        /// Any JSON object.
        case object(_ description: String)
        /// A protocol switch (a WebSocket feed's 101).
        case switching(_ description: String)
    }

    /// The `operationId`.
    let id: String
    let method: HTTPRequest.Method
    /// As the document writes it: `/api/v1/bookings/{id}/confirm`.
    let path: String
    let summary: String
    let access: Access
    /// What the path's `{id}` names (`booking`), whose absence is a 404.
    var entity: String? = nil
    /// Whether it takes `page` and `page_size`.
    var paged = false
    /// The schema of its JSON body, if it takes one.
    var body: String? = nil
    /// Whether it takes an `Idempotency-Key`.
    var idempotent = false
    /// Its own answers, by status; the refusals every such operation can meet are added by the document.
    let answers: [Int: Answer]
    /// Codes of a 422 besides `validation_failed`.
    var extraUnprocessable: [String] = []
    /// Whether it may answer 503 (the store down or slow, too many writes waiting); not what is served from memory
    /// past every limit.
    var mayBeUnavailable = true

    /// The path as Hummingbird's router writes it: `{id}` as `:id`, without a trailing slash.
    var routerPath: String {
        let segments = path.split(separator: "/").map { $0.hasPrefix("{") ? ":\($0.dropFirst().dropLast())" : $0 }
        return "/" + segments.joined(separator: "/")
    }
}

extension Endpoint {
    /// Every operation the service answers, in the document's order.
    static let all: [Endpoint] = [
        index, health, ready, metrics, openAPI, summary, register, login, listEvents, createEvent, getEvent, eventFeed,
        listBookings, book, cancelBooking, confirmBooking, listProducts, createProduct, getProduct, listOrders,
        placeOrder, payOrder, shipOrder, cancelOrder, balance, transactions, topUp, deduct, createItem, getItem,
        listBids, bid, itemFeed,
    ]

    /// The methods the service answers at `path` (`HEAD` wherever `GET` is), in order; empty for a path it lacks.
    static func methods(answering path: String) -> [String] {
        let segments = path.split(separator: "/")
        var methods: Set<String> = []
        for endpoint in all {
            let template = endpoint.path.split(separator: "/")
            guard template.count == segments.count else { continue }
            if zip(template, segments).allSatisfy({ part, segment in part.hasPrefix("{") || part == segment }) {
                methods.insert(endpoint.method.rawValue)
            }
        }
        if methods.contains("GET") { methods.insert("HEAD") }
        return ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].filter(methods.contains)
    }

    // MARK: Operations

    static let index = Endpoint(
        id: "index", method: .get, path: "/",
        summary: "Where to look: the OpenAPI document, health, readiness, metrics and the API.", access: .open,
        answers: [200: .json("Index")])
    static let health = Endpoint(
        id: "health", method: .get, path: "/health", summary: "The process answers (touches no store).",
        access: .open, answers: [200: .json("Status")])
    static let ready = Endpoint(
        id: "ready", method: .get, path: "/ready", summary: "The store answers too.", access: .open,
        answers: [200: .json("Status")])
    static let metrics = Endpoint(
        id: "metrics", method: .get, path: "/metrics", summary: "Prometheus metrics, in the text exposition format.",
        access: .open, answers: [200: .text("The metrics.", mediaType: "text/plain")], mayBeUnavailable: false)
    static let openAPI = Endpoint(
        id: "openapi", method: .get, path: "/openapi.json", summary: "This document.", access: .open,
        answers: [200: .object("The OpenAPI 3.1 document.")], mayBeUnavailable: false)
    static let summary = Endpoint(
        id: "summary", method: .get, path: "/api/v1/summary",
        summary: "Counts across products and orders, from one snapshot.", access: .open,
        answers: [200: .json("Summary")])

    static let register = Endpoint(
        id: "register", method: .post, path: "/api/v1/auth/register", summary: "Create an account.", access: .signIn,
        body: "Register",
        answers: [
            201: .json("User", "The account."), 409: .problem("The email address is taken.", ["email_taken"]),
            429: .problem(
                "The client address's budget for sign-ups and logins is spent; see Retry-After.", ["rate_limited"]),
        ])
    static let login = Endpoint(
        id: "login", method: .post, path: "/api/v1/auth/login", summary: "Exchange credentials for an access token.",
        access: .signIn, body: "Login",
        answers: [
            200: .json("Token"), 401: .problem("Wrong email address or password.", ["invalid_credentials"]),
            429: .problem(
                "The client address's budget is spent, or the account's logins are slowed after wrong passwords; "
                    + "see Retry-After.", ["rate_limited"]),
        ])

    static let listEvents = Endpoint(
        id: "listEvents", method: .get, path: "/api/v1/events/", summary: "Events, a page at a time.",
        access: .publicRead, paged: true, answers: [200: .json("EventPage")])
    static let createEvent = Endpoint(
        id: "createEvent", method: .post, path: "/api/v1/events/", summary: "Create an event; the caller organises it.",
        access: .authenticated, body: "NewEvent",
        answers: [201: .json("Event", "The event.", links: ["getEvent", "eventFeed"])])
    static let getEvent = Endpoint(
        id: "getEvent", method: .get, path: "/api/v1/events/{id}", summary: "One event, with its available seats.",
        access: .publicRead, entity: "event", answers: [200: .json("Event")])
    static let eventFeed = liveFeed("eventFeed", "event", "availability changes and waitlist offers")

    static let listBookings = Endpoint(
        id: "listBookings", method: .get, path: "/api/v1/bookings/", summary: "The caller's bookings, newest first.",
        access: .authenticated, answers: [200: .json("BookingList")])
    static let book = Endpoint(
        id: "book", method: .post, path: "/api/v1/bookings/",
        summary: "Book seats outright, as a hold (hold_seconds), or onto the waitlist when sold out.",
        access: .authenticated, body: "NewBooking", idempotent: true,
        answers: [
            201: .json(
                "Booking", "The booking (Idempotent-Replayed: true when the key matched an earlier one).",
                links: ["cancelBooking", "confirmBooking"]),
            202: .json(
                "Waitlisted",
                "Sold out: the request waits in line (Idempotent-Replayed: true when the key matched an earlier join, "
                    + "whose place this is)."),
            404: .problem("No such event.", ["not_found"]),
            409: .problem(
                "Not enough seats left, the waitlist is full, or the caller would pass the event's per-person limit.",
                ["sold_out", "waitlist_full", "user_limit_reached"]),
        ])
    static let cancelBooking = Endpoint(
        id: "cancelBooking", method: .delete, path: "/api/v1/bookings/{id}",
        summary: "Cancel one of the caller's bookings; its seats return.", access: .authenticated, entity: "booking",
        answers: [200: .json("Booking")])
    static let confirmBooking = Endpoint(
        id: "confirmBooking", method: .post, path: "/api/v1/bookings/{id}/confirm",
        summary: "Confirm one of the caller's holds.", access: .authenticated, entity: "booking",
        answers: [
            200: .json("Booking"), 409: .problem("The booking is not a hold.", ["illegal_transition"]),
            410: .problem("The hold ran out.", ["hold_expired"]),
        ])

    static let listProducts = Endpoint(
        id: "listProducts", method: .get, path: "/api/v1/products/", summary: "Products, a page at a time.",
        access: .publicRead, paged: true, answers: [200: .json("ProductPage")])
    static let createProduct = Endpoint(
        id: "createProduct", method: .post, path: "/api/v1/products/", summary: "Stock a product.",
        access: .authenticated, body: "NewProduct",
        answers: [
            201: .json("Product", "The product.", links: ["getProduct"]),
            409: .problem("The SKU is taken.", ["sku_taken"]),
        ])
    static let getProduct = Endpoint(
        id: "getProduct", method: .get, path: "/api/v1/products/{id}", summary: "One product, with its stock.",
        access: .publicRead, entity: "product", answers: [200: .json("Product")])

    static let listOrders = Endpoint(
        id: "listOrders", method: .get, path: "/api/v1/orders/", summary: "The caller's orders, newest first.",
        access: .authenticated, answers: [200: .json("OrderList")])
    static let placeOrder = Endpoint(
        id: "placeOrder", method: .post, path: "/api/v1/orders/",
        summary: "Order units of a product; they are taken from its stock.", access: .authenticated, body: "NewOrder",
        idempotent: true,
        answers: [
            201: .json("Order", "The order, pending payment.", links: ["payOrder", "shipOrder", "cancelOrder"]),
            404: .problem("No such product.", ["not_found"]),
            409: .problem("Not enough stock left.", ["insufficient_stock"]),
        ])
    static let payOrder = transition(.pay, "payOrder", "Pay a pending order.")
    static let shipOrder = transition(.ship, "shipOrder", "Ship a paid order.")
    static let cancelOrder = transition(
        .cancel, "cancelOrder", "Cancel an order that has not shipped; its units return.")

    /// The transition of an order that `action` makes.
    static func orderTransition(_ action: OrderAction) -> Endpoint {
        switch action {
        case .pay: payOrder
        case .ship: shipOrder
        case .cancel: cancelOrder
        }
    }

    static let balance = Endpoint(
        id: "balance", method: .get, path: "/api/v1/credits/balance", summary: "The caller's credit balance.",
        access: .authenticated, answers: [200: .json("Balance")])
    static let transactions = Endpoint(
        id: "transactions", method: .get, path: "/api/v1/credits/transactions",
        summary: "The caller's ledger, newest first.", access: .authenticated, answers: [200: .json("Transactions")])
    static let topUp = Endpoint(
        id: "topUp", method: .post, path: "/api/v1/credits/topup", summary: "Add credits.", access: .authenticated,
        body: "TopUp", answers: [200: .json("CreditChange")], extraUnprocessable: ["credit_limit_exceeded"])
    static let deduct = Endpoint(
        id: "deduct", method: .post, path: "/api/v1/credits/deduct", summary: "Spend credits; never below zero.",
        access: .authenticated, body: "Deduct", idempotent: true,
        answers: [
            200: .json("CreditChange", "The deduction (Idempotent-Replayed: true when the key matched)."),
            402: .problem("The balance is too low.", ["insufficient_credits"]),
        ])

    static let createItem = Endpoint(
        id: "createItem", method: .post, path: "/api/v1/items/",
        summary: "Put an item up for auction; the caller sells it.", access: .authenticated, body: "NewItem",
        answers: [201: .json("Item", "The item.", links: ["getItem", "listBids", "bid", "itemFeed"])])
    static let getItem = Endpoint(
        id: "getItem", method: .get, path: "/api/v1/items/{id}", summary: "One item, with its current bid.",
        access: .publicRead, entity: "item", answers: [200: .json("Item")])
    static let listBids = Endpoint(
        id: "listBids", method: .get, path: "/api/v1/items/{id}/bids", summary: "The accepted bids, in order.",
        access: .publicRead, entity: "item", answers: [200: .json("BidList")])
    static let bid = Endpoint(
        id: "bid", method: .post, path: "/api/v1/items/{id}/bids",
        summary: "Bid on an item: at least its next minimum.", access: .authenticated, entity: "item",
        body: "NewBid",
        answers: [
            201: .json("Bid", "The accepted bid, numbered by seq."),
            409: .problem(
                "The bid is below the next minimum, or the bidder is the seller.", ["bid_too_low", "own_item"]),
            410: .problem("Bidding has closed.", ["auction_closed"]),
        ])
    static let itemFeed = liveFeed("itemFeed", "item", "every accepted bid")

    private static func transition(_ action: OrderAction, _ id: String, _ summary: String) -> Endpoint {
        Endpoint(
            id: id, method: .post, path: "/api/v1/orders/{id}/\(action.rawValue)", summary: summary,
            access: .authenticated, entity: "order",
            answers: [
                200: .json("Order"), 409: .problem("Not allowed from the order's status.", ["illegal_transition"]),
            ])
    }

    private static func liveFeed(_ id: String, _ entity: String, _ what: String) -> Endpoint {
        Endpoint(
            id: id, method: .get, path: "/api/v1/\(entity)s/{id}/live",
            summary: "A WebSocket feed of \(what): upgrade with Connection: Upgrade and Upgrade: websocket. Messages "
                + "are JSON objects with `type` and `seq`; the first is {\"type\":\"subscribed\"}. An instance that "
                + "does not hear every change (one sharing PostgreSQL that is not listening yet) answers 503; one that "
                + "stops hearing them closes its feeds with 1013: reconnect.",
            access: .open, entity: entity,
            answers: [
                101: .switching("Switching to the WebSocket feed."),
                400: .problem("Not a valid WebSocket handshake.", ["bad_request"]),
                426: .problem("A plain request: connect with a WebSocket.", ["upgrade_required"]),
            ])
    }
}
