import Foundation
import TurnstileCore

/// The OpenAPI 3.1 document of the service, served at `GET /openapi.json`: every endpoint with its parameters,
/// request body, responses and problem+json refusals (each with its stable `code`s).
///
/// It is built here, beside the routes, from a few helpers rather than kept as a separate file, so that the limits
/// it states are ``Limits``' own; a test checks that its operations are exactly the router's routes.
enum OpenAPIDocument {
    /// The document, encoded once.
    static let json: Data = {
        // Built from literals only, so encoding cannot fail.
        try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }()

    /// Every operation: (method, path, operation).
    static var operations: [(method: String, path: String)] {
        paths.flatMap { path, item in item.keys.map { (method: $0.uppercased(), path: path) } }
    }

    /// The methods the service answers at `path` (`HEAD` wherever `GET` is), in order; empty for a path it lacks.
    static func methods(answering path: String) -> [String] {
        let segments = path.split(separator: "/")
        var methods: Set<String> = []
        for (method, template) in routeTemplates where template.count == segments.count {
            let matches = zip(template, segments).allSatisfy { part, segment in
                part.hasPrefix("{") || part == segment
            }
            if matches { methods.insert(method) }
        }
        if methods.contains("GET") { methods.insert("HEAD") }
        return ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].filter(methods.contains)
    }

    /// Each operation's method and path segments (`{id}` matching any one segment).
    private static let routeTemplates: [(method: String, segments: [Substring])] = operations.map {
        ($0.method, $0.path.split(separator: "/"))
    }

    private static var document: [String: Any] {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "Turnstile",
                "version": "1.0.0",
                "description": """
                A reservation service that never oversells: event seats, product stock, credit balances and \
                auction bids. Every refusal is an RFC 9457 problem (application/problem+json) with a stable \
                `code`. Times are RFC 3339 in UTC, money is in integer cents, ids are integers.
                """,
            ],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
            ],
        ]
    }

    // MARK: Paths

    private static var paths: [String: [String: Any]] {
        [
            "/": [
                "get": operation(
                    "index", "Where to look: the OpenAPI document, health, readiness, metrics and the API.",
                    responses: ["200": ok("Index")])
            ],
            "/health": [
                "get": operation("health", "The process answers (touches no store).", responses: ["200": ok("Status")])
            ],
            "/ready": [
                "get": operation(
                    "ready", "The store answers too.", responses: ["200": ok("Status")])
            ],
            "/metrics": [
                "get": [
                    "operationId": "metrics", "summary": "Prometheus metrics, in the text exposition format.",
                    "responses": [
                        "200": [
                            "description": "The metrics.", "content": ["text/plain": ["schema": ["type": "string"]]],
                        ]
                    ],
                ]
            ],
            "/openapi.json": [
                "get": [
                    "operationId": "openapi", "summary": "This document.",
                    "responses": [
                        "200": [
                            "description": "The OpenAPI 3.1 document.",
                            "content": ["application/json": ["schema": ["type": "object"]]],
                        ]
                    ],
                ]
            ],
            "/api/v1/summary": [
                "get": operation(
                    "summary", "Counts across products and orders, from one snapshot.",
                    responses: ["200": ok("Summary")])
            ],
            "/api/v1/auth/register": [
                "post": operation(
                    "register", "Create an account.", body: "Register",
                    responses: [
                        "201": ok("User", "The account."),
                        "409": problem("The email address is taken.", ["email_taken"]),
                        "429": problem(
                            "The client address's budget for sign-ups and logins is spent; see Retry-After.",
                            ["rate_limited"]),
                    ])
            ],
            "/api/v1/auth/login": [
                "post": operation(
                    "login", "Exchange credentials for an access token.", body: "Login",
                    responses: [
                        "200": ok("Token"), "401": problem("Wrong email address or password.", ["invalid_credentials"]),
                        "429": problem(
                            "The client address's budget is spent, or the account's logins are slowed after wrong "
                                + "passwords; see Retry-After.", ["rate_limited"]),
                    ])
            ],
            "/api/v1/events/": [
                "get": operation(
                    "listEvents", "Events, a page at a time.", query: paging, responses: ["200": ok("EventPage")]),
                "post": operation(
                    "createEvent", "Create an event; the caller organises it.", auth: true, body: "NewEvent",
                    responses: [
                        "201": ok("Event", "The event.", links: ["getEvent", "eventFeed"])
                    ]),
            ],
            "/api/v1/events/{id}": [
                "get": operation(
                    "getEvent", "One event, with its available seats.", id: "event", responses: ["200": ok("Event")])
            ],
            "/api/v1/events/{id}/live": [
                "get": liveFeed("eventFeed", "event", "availability changes and waitlist offers")
            ],
            "/api/v1/bookings/": [
                "get": operation(
                    "listBookings", "The caller's bookings, newest first.", auth: true,
                    responses: ["200": ok("BookingList")]),
                "post": operation(
                    "book", "Book seats outright, as a hold (hold_seconds), or onto the waitlist when sold out.",
                    auth: true,
                    body: "NewBooking", idempotent: true,
                    responses: [
                        "201": ok(
                            "Booking", "The booking (Idempotent-Replayed: true when the key matched an earlier one).",
                            links: ["cancelBooking", "confirmBooking"]),
                        "202": ok(
                            "Waitlisted",
                            "Sold out: the request waits in line (Idempotent-Replayed: true when the key matched an "
                                + "earlier join, whose place this is)."),
                        "404": problem("No such event.", ["not_found"]),
                        "409": problem(
                            "Not enough seats left, the waitlist is full, or the caller would pass the event's per-person limit.",
                            ["sold_out", "waitlist_full", "user_limit_reached"]),
                    ]),
            ],
            "/api/v1/bookings/{id}": [
                "delete": operation(
                    "cancelBooking", "Cancel one of the caller's bookings; its seats return.", auth: true,
                    id: "booking",
                    responses: ["200": ok("Booking")])
            ],
            "/api/v1/bookings/{id}/confirm": [
                "post": operation(
                    "confirmBooking", "Confirm one of the caller's holds.", auth: true, id: "booking",
                    responses: [
                        "200": ok("Booking"),
                        "409": problem("The booking is not a hold.", ["illegal_transition"]),
                        "410": problem("The hold ran out.", ["hold_expired"]),
                    ])
            ],
            "/api/v1/products/": [
                "get": operation(
                    "listProducts", "Products, a page at a time.", query: paging, responses: ["200": ok("ProductPage")]),
                "post": operation(
                    "createProduct", "Stock a product.", auth: true, body: "NewProduct",
                    responses: [
                        "201": ok("Product", "The product.", links: ["getProduct"]),
                        "409": problem("The SKU is taken.", ["sku_taken"]),
                    ]),
            ],
            "/api/v1/products/{id}": [
                "get": operation(
                    "getProduct", "One product, with its stock.", id: "product", responses: ["200": ok("Product")])
            ],
            "/api/v1/orders/": [
                "get": operation(
                    "listOrders", "The caller's orders, newest first.", auth: true, responses: ["200": ok("OrderList")]),
                "post": operation(
                    "placeOrder", "Order units of a product; they are taken from its stock.", auth: true,
                    body: "NewOrder",
                    idempotent: true,
                    responses: [
                        "201": ok(
                            "Order", "The order, pending payment.", links: ["payOrder", "shipOrder", "cancelOrder"]),
                        "404": problem("No such product.", ["not_found"]),
                        "409": problem("Not enough stock left.", ["insufficient_stock"]),
                    ]),
            ],
            "/api/v1/orders/{id}/pay": ["post": orderTransition("payOrder", "Pay a pending order.")],
            "/api/v1/orders/{id}/ship": ["post": orderTransition("shipOrder", "Ship a paid order.")],
            "/api/v1/orders/{id}/cancel": [
                "post": orderTransition("cancelOrder", "Cancel an order that has not shipped; its units return.")
            ],
            "/api/v1/credits/balance": [
                "get": operation(
                    "balance", "The caller's credit balance.", auth: true, responses: ["200": ok("Balance")])
            ],
            "/api/v1/credits/transactions": [
                "get": operation(
                    "transactions", "The caller's ledger, newest first.", auth: true,
                    responses: ["200": ok("Transactions")])
            ],
            "/api/v1/credits/topup": [
                "post": operation(
                    "topUp", "Add credits.", auth: true, body: "TopUp",
                    responses: ["200": ok("CreditChange")], extraUnprocessable: ["credit_limit_exceeded"])
            ],
            "/api/v1/credits/deduct": [
                "post": operation(
                    "deduct", "Spend credits; never below zero.", auth: true, body: "Deduct", idempotent: true,
                    responses: [
                        "200": ok("CreditChange", "The deduction (Idempotent-Replayed: true when the key matched)."),
                        "402": problem("The balance is too low.", ["insufficient_credits"]),
                    ])
            ],
            "/api/v1/items/": [
                "post": operation(
                    "createItem", "Put an item up for auction; the caller sells it.", auth: true, body: "NewItem",
                    responses: ["201": ok("Item", "The item.", links: ["getItem", "listBids", "bid", "itemFeed"])])
            ],
            "/api/v1/items/{id}": [
                "get": operation(
                    "getItem", "One item, with its current bid.", id: "item", responses: ["200": ok("Item")])
            ],
            "/api/v1/items/{id}/bids": [
                "get": operation(
                    "listBids", "The accepted bids, in order.", id: "item", responses: ["200": ok("BidList")]),
                "post": operation(
                    "bid", "Bid on an item: at least its next minimum.", auth: true, id: "item", body: "NewBid",
                    responses: [
                        "201": ok("Bid", "The accepted bid, numbered by seq."),
                        "409": problem(
                            "The bid is below the next minimum, or the bidder is the seller.",
                            ["bid_too_low", "own_item"]),
                        "410": problem("Bidding has closed.", ["auction_closed"]),
                    ]),
            ],
            "/api/v1/items/{id}/live": ["get": liveFeed("itemFeed", "item", "every accepted bid")],
        ]
    }

    private static var paging: [[String: Any]] {
        [
            [
                "name": "page", "in": "query", "required": false,
                "schema": ["type": "integer", "minimum": 1, "maximum": Limits.pageNumberMax, "default": 1],
            ],
            [
                "name": "page_size", "in": "query", "required": false,
                "schema": [
                    "type": "integer", "minimum": 1, "maximum": Limits.pageSizeMax, "default": Limits.pageSizeDefault,
                ],
            ],
        ]
    }

    /// One operation, with the refusals every such operation can meet added to its own `responses`.
    private static func operation(
        _ id: String, _ summary: String, auth: Bool = false, id entity: String? = nil, query: [[String: Any]] = [],
        body: String? = nil, idempotent: Bool = false, responses: [String: Any],
        extraUnprocessable: [String] = []
    ) -> [String: Any] {
        var operation: [String: Any] = ["operationId": id, "summary": summary]
        var parameters = query
        var responses = responses
        if let entity {
            parameters.append([
                "name": "id", "in": "path", "required": true, "description": "The \(entity)'s id.",
                "schema": ["type": "integer", "format": "int64", "minimum": 1, "maximum": Int64.max],
            ])
            responses["404"] = problem("No such \(entity).", ["not_found"])
        }
        if idempotent {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Makes the write safe to retry: a repeat with the same key answers the first result.",
                "schema": ["type": "string", "minLength": 1, "maxLength": Limits.idempotencyKeyLengthMax],
            ])
        }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        var unprocessable = ["validation_failed"] + extraUnprocessable
        if idempotent { unprocessable.append("idempotency_key_reused") }
        if let body {
            operation["requestBody"] = [
                "required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(body)"]]],
            ]
            responses["400"] = problem("The body is not JSON.", ["malformed_json"])
            responses["408"] = problem(
                "The body did not arrive within \(Limits.requestBodySecondsMax) s.", ["request_timeout"])
            responses["413"] = problem(
                "The body is larger than \(Limits.requestBodyBytesMax) bytes.", ["payload_too_large"])
            responses["415"] = problem("The body is not declared as JSON.", ["unsupported_media_type"])
        }
        if body != nil || entity != nil || !query.isEmpty {
            responses["422"] = problem("A field, parameter or header is invalid; `field` names it.", unprocessable)
        }
        if auth {
            operation["security"] = [["bearer": [String]()]]
            responses["401"] = problem("No valid access token.", ["unauthorized"])
            responses["429"] = problem("The user's request budget is spent; see Retry-After.", ["rate_limited"])
        }
        responses["503"] = problem(
            "The store is down or too slow, or too many writes wait; see Retry-After.",
            ["store_unavailable", "overloaded"])
        operation["responses"] = responses
        return operation
    }

    private static func orderTransition(_ id: String, _ summary: String) -> [String: Any] {
        operation(
            id, summary, auth: true, id: "order",
            responses: [
                "200": ok("Order"), "409": problem("Not allowed from the order's status.", ["illegal_transition"]),
            ])
    }

    private static func liveFeed(_ id: String, _ entity: String, _ what: String) -> [String: Any] {
        operation(
            id,
            "A WebSocket feed of \(what): upgrade with Connection: Upgrade and Upgrade: websocket. Messages are JSON "
                + "objects with `type` and `seq`; the first is {\"type\":\"subscribed\"}. An instance that does not "
                + "hear every change (one sharing PostgreSQL that is not listening yet) answers 503; one that stops "
                + "hearing them closes its feeds with 1013: reconnect.",
            id: entity,
            responses: [
                "101": ["description": "Switching to the WebSocket feed."],
                "400": problem("Not a valid WebSocket handshake.", ["bad_request"]),
                "426": problem("A plain request: connect with a WebSocket.", ["upgrade_required"]),
            ])
    }

    /// A JSON answer; `links` names the operations that take the answer's `id` as their path's `{id}` (so a
    /// client, or schemathesis's stateful tests, can follow one from the other).
    private static func ok(_ schema: String, _ description: String = "Success.", links: [String] = []) -> [String: Any]
    {
        var response: [String: Any] = [
            "description": description,
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(schema)"]]],
        ]
        if !links.isEmpty {
            response["links"] = Dictionary(
                uniqueKeysWithValues: links.map {
                    ($0, ["operationId": $0, "parameters": ["id": "$response.body#/id"]] as [String: Any])
                })
        }
        return response
    }

    private static func problem(_ description: String, _ codes: [String]) -> [String: Any] {
        [
            "description": description + " Codes: " + codes.joined(separator: ", ") + ".",
            "content": [
                "application/problem+json": [
                    "schema": [
                        "allOf": [
                            ["$ref": "#/components/schemas/Problem"],
                            ["type": "object", "properties": ["code": ["enum": codes]]],
                        ]
                    ]
                ]
            ],
        ]
    }

    // MARK: Schemas

    private static var schemas: [String: Any] {
        [
            "Problem": object(
                [
                    "type": string, "title": string, "status": integer, "code": string, "detail": string,
                    "available": integer, "requested": integer, "field": string, "balance": integer,
                    "current_bid_cents": nullable(integer), "min_next_cents": integer, "current_status": string,
                ], required: ["type", "title", "status", "code", "detail"]),
            "Status": object(["status": string]),
            "Index": object([
                "service": string,
                "links": object([
                    "openapi": string, "health": string, "ready": string, "metrics": string, "api": string,
                ]),
            ]),
            "Summary": object([
                "products": integer, "units_in_stock": integer,
                "orders": ["type": "object", "additionalProperties": integer],
            ]),
            "Register": object(
                [
                    "email": string(maxLength: Limits.emailLengthMax, format: "email"),
                    "username": string(
                        minLength: Limits.usernameLengthMin, maxLength: Limits.usernameLengthMax,
                        pattern: "^[A-Za-z0-9_.-]+$"),
                    "password": string(minLength: Limits.passwordLengthMin, maxLength: Limits.passwordLengthMax),
                ], strict: false),
            "Login": object(["email": string, "password": string], strict: false),
            "User": object(["id": id, "email": string, "username": string, "created_at": dateTime]),
            "Token": object([
                "access_token": string, "token_type": ["type": "string", "const": "bearer"],
                "expires_in": integer,
            ]),
            "NewEvent": object(
                [
                    "title": text(maxLength: Limits.eventTitleLengthMax),
                    "description": nullable(string(maxLength: Limits.eventDescriptionLengthMax)),
                    "date": keptDateTime,
                    "location": nullable(string(maxLength: Limits.eventLocationLengthMax)),
                    "seat_count": integer(1, Limits.eventSeatCountMax),
                    "max_seats_per_user": nullable(integer(1, Limits.eventSeatCountMax)),
                ], required: ["title", "date", "seat_count"], strict: false),
            "Event": object([
                "id": id, "title": string, "description": nullable(string), "date": dateTime,
                "location": nullable(string), "seat_count": integer, "available_seats": integer, "organizer_id": id,
                "created_at": dateTime, "max_seats_per_user": integer,
            ]),
            "EventPage": page("events", "Event"),
            "NewBooking": object(
                [
                    "event_id": id, "seat_count": integer(1, Limits.bookingSeatCountMax),
                    "hold_seconds": nullable(integer(1, Limits.holdSecondsMax)),
                    "waitlist": ["type": "boolean", "default": false],
                ], required: ["event_id", "seat_count"], strict: false),
            "Booking": object([
                "id": id, "reference": ["type": "string", "pattern": "^EVT-[A-Z0-9]{6}$"], "user_id": id,
                "event_id": id, "seat_count": integer,
                "status": ["type": "string", "enum": ["held", "confirmed", "cancelled", "expired"]],
                "expires_at": nullable(dateTime), "created_at": dateTime,
            ]),
            "Waitlisted": object([
                "id": id, "event_id": id, "user_id": id, "seat_count": integer,
                "status": ["type": "string", "const": "waitlisted"], "waitlist_position": integer,
                "created_at": dateTime,
            ]),
            "BookingList": object(["bookings": array("Booking")]),
            "NewProduct": object(
                [
                    "sku": text(maxLength: Limits.skuLengthMax),
                    "name": text(maxLength: Limits.productNameLengthMax),
                    "price_cents": integer(0, Limits.priceCentsMax), "stock": integer(1, Limits.productStockMax),
                ], strict: false),
            "Product": object([
                "id": id, "sku": string, "name": string, "price_cents": integer, "stock": integer,
                "stock_total": integer, "created_at": dateTime,
            ]),
            "ProductPage": page("products", "Product"),
            "NewOrder": object(["product_id": id, "quantity": integer(1, Limits.orderQuantityMax)], strict: false),
            "Order": object([
                "id": id, "user_id": id, "product_id": id, "quantity": integer, "total_cents": integer,
                "status": ["type": "string", "enum": ["pending", "paid", "shipped", "cancelled"]],
                "created_at": dateTime,
            ]),
            "OrderList": object(["orders": array("Order")]),
            "TopUp": object(["amount": integer(1, Limits.creditTopUpMax)], strict: false),
            "Deduct": object(
                [
                    "amount": integer(1, Limits.creditTopUpMax),
                    "reason": text(maxLength: Limits.ledgerReasonLengthMax),
                ], strict: false),
            "Balance": object([
                "balance": integer, "used": integer, "total": integer, "low_balance": ["type": "boolean"],
                "threshold": integer,
            ]),
            "LedgerEntry": object([
                "id": id, "kind": ["type": "string", "enum": ["topup", "deduct"]], "amount": integer,
                "balance_after": integer, "reason": nullable(string), "created_at": dateTime,
            ]),
            "CreditChange": object([
                "transaction": ["$ref": "#/components/schemas/LedgerEntry"],
                "account": ["$ref": "#/components/schemas/Balance"],
            ]),
            "Transactions": object(["transactions": array("LedgerEntry")]),
            "NewItem": object(
                [
                    "title": text(maxLength: Limits.itemTitleLengthMax),
                    "starting_price_cents": integer(1, Limits.priceCentsMax),
                    "min_increment_cents": integer(1, Limits.priceCentsMax), "ends_at": nullable(keptDateTime),
                ], required: ["title", "starting_price_cents", "min_increment_cents"], strict: false),
            "Item": object([
                "id": id, "seller_id": id, "title": string, "starting_price_cents": integer,
                "min_increment_cents": integer, "ends_at": nullable(dateTime),
                "current_bid_cents": nullable(integer), "highest_bidder": nullable(id), "bid_count": integer,
                "min_next_cents": integer, "closed": ["type": "boolean"], "created_at": dateTime,
            ]),
            "NewBid": object(["amount_cents": integer(1, Limits.priceCentsMax)], strict: false),
            "Bid": object([
                "item_id": id, "seq": integer, "amount_cents": integer, "bidder_id": id, "created_at": dateTime,
            ]),
            "BidList": object(["bids": array("Bid")]),
        ]
    }

    private static var string: [String: Any] { ["type": "string"] }
    private static var integer: [String: Any] { ["type": "integer", "format": "int64"] }
    private static var id: [String: Any] { ["type": "integer", "format": "int64", "minimum": 1] }
    private static var dateTime: [String: Any] { ["type": "string", "format": "date-time"] }
    /// A date-time the service keeps: from 1970 to 9999 in UTC, so in 1970 and 9999 only written in UTC (an offset
    /// could carry it into 1969 or 10000), and never the leap second 9999-12-31T23:59:60, which is 10000-01-01.
    static var keptDateTime: [String: Any] {
        let time = "[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
        // 9999 up to its last minute with any second, then that minute without :60; no look-ahead, so that every
        // regex dialect reads it alike.
        let lastYear =
            "9999-((0[0-9]|1[01])-[0-9]{2}\(time)|12-([0-2][0-9]|30)\(time)|12-31[Tt]([01][0-9]|2[0-2]):[0-9]{2}:[0-9]{2}"
            + "|12-31[Tt]23:([0-4][0-9]|5[0-8]):[0-9]{2}|12-31[Tt]23:59:[0-5][0-9])"
        return [
            "type": "string", "format": "date-time",
            "pattern": "^((197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
                + "|(1970-[0-9]{2}-[0-9]{2}\(time)|\(lastYear))(\\.[0-9]+)?([Zz]|[+-]00:00)$)",
        ]
    }

    private static func string(
        minLength: Int? = nil, maxLength: Int, format: String? = nil, pattern: String? = nil
    ) -> [String: Any] {
        var schema: [String: Any] = ["type": "string", "maxLength": maxLength]
        if let pattern { schema["pattern"] = pattern }
        if let minLength { schema["minLength"] = minLength }
        if let format { schema["format"] = format }
        return schema
    }

    /// Text the service trims: at most `maxLength` as sent, with something besides white space (Unicode's
    /// White_Space characters, listed, so that every regex dialect reads the class alike).
    private static func text(maxLength: Int) -> [String: Any] {
        string(
            minLength: 1, maxLength: maxLength,
            pattern: "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680"
                + "\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]")
    }

    private static func integer(_ minimum: Int, _ maximum: Int) -> [String: Any] {
        ["type": "integer", "format": "int64", "minimum": minimum, "maximum": maximum]
    }

    private static func nullable(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        schema["type"] = [schema["type"] as? String ?? "string", "null"]
        return schema
    }

    private static func array(_ item: String) -> [String: Any] {
        ["type": "array", "items": ["$ref": "#/components/schemas/\(item)"]]
    }

    private static func page(_ key: String, _ item: String) -> [String: Any] {
        object([key: array(item), "total": integer, "page": integer, "page_size": integer])
    }

    /// An object schema. Responses list every member as required; request bodies (`strict: false`) ignore unknown
    /// members, as the service does, and require the members given in `required` (all of them unless told).
    private static func object(
        _ properties: [String: Any], required: [String]? = nil, strict: Bool = true
    ) -> [String: Any] {
        var schema: [String: Any] = [
            "type": "object", "properties": properties, "required": (required ?? Array(properties.keys)).sorted(),
        ]
        if strict { schema["additionalProperties"] = false }
        return schema
    }
}
