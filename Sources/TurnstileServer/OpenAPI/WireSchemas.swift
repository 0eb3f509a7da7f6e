import Foundation
import TurnstileCore
import TurnstileWire

/// The document's schemas, derived from the wire types the service encodes and decodes: each schema's members and
/// their JSON types are what an example of its type encodes to (a member an example with every optional left out
/// encodes as null may be null), and a request body's required members are those its type cannot be decoded
/// without. What a Swift type cannot say (bounds, formats, patterns, the values of a status) is each member's
/// ``Refinement``, with the bounds of ``Limits``. A member added to, renamed in or retyped in a wire type changes
/// the document with it.
enum WireSchemas {
    /// What the document says of a member beyond its JSON type.
    enum Refinement {
        /// Added to the member's derived schema (`maxLength`, `enum`, `pattern`, …).
        case adding([String: Any])
        /// Instead of the derived schema: a reference to another schema, or a shape an example cannot show.
        case replacing([String: Any])
    }

    /// One schema: its examples, whether it is a request body (which ignores unknown members, so not strict, and
    /// requires only what its type does), and its refinements.
    struct Entry {
        let name: String
        /// The first sets every optional member; any other leaves them out.
        let examples: [any Encodable]
        /// For a request body: whether a JSON object decodes as its type.
        let decodes: ((Data) -> Bool)?
        let refinements: [String: Refinement]
    }

    /// Every schema derived from a wire type, by name.
    static var schemas: [String: Any] {
        var schemas: [String: Any] = [:]
        for entry in entries { schemas[entry.name] = schema(of: entry) }
        return schemas
    }

    /// A member's derived schema from the JSON of its value.
    private static func derived(_ key: String, _ value: JSONShape) -> [String: Any] {
        switch value {
        case .bool: return ["type": "boolean"]
        case .integer:
            // Ids count from 1.
            if key == "id" || key.hasSuffix("_id") {
                return ["type": "integer", "format": "int64", "minimum": 1]
            }
            return ["type": "integer", "format": "int64"]
        case .number: return ["type": "number"]
        case .string(let text):
            return WireJSON.parseDate(text) != nil ? ["type": "string", "format": "date-time"] : ["type": "string"]
        case .array(let elements): return ["type": "array", "items": elements.first.map { derived(key, $0) } ?? [:]]
        case .object(let members): return object(members, nullable: [], strict: true)
        case .null: return [:]
        }
    }

    static func schema(of entry: Entry) -> [String: Any] {
        let encoded = entry.examples.map { example -> [String: JSONShape] in
            guard case .object(let members) = JSONShape(encoding: example) else {
                preconditionFailure("\(entry.name)'s example is not a JSON object")
            }
            return members
        }
        guard let full = encoded.first else { preconditionFailure("\(entry.name) has no example") }
        guard let decodes = entry.decodes else {
            // A response member that an example without optionals encodes as null (or leaves out) may be null.
            let nullable = Set(full.keys.filter { key in encoded.dropFirst().contains { ($0[key] ?? .null) == .null } })
            return object(full, nullable: nullable, strict: true, refinements: entry.refinements)
        }
        // A request body's member may be null when its type decodes with it null, and is required when the type
        // cannot be decoded without it.
        let decodesWith = { (members: [String: JSONShape]) in decodes(JSONShape.object(members).data) }
        let nullable = Set(full.keys.filter { key in decodesWith(full.merging([key: .null]) { $1 }) })
        var schema = object(full, nullable: nullable, strict: false, refinements: entry.refinements)
        schema["required"] = full.keys.filter { key in !decodesWith(full.filter { $0.key != key }) }.sorted()
        return schema
    }

    private static func object(
        _ members: [String: JSONShape], nullable: Set<String>, strict: Bool, refinements: [String: Refinement] = [:]
    ) -> [String: Any] {
        var properties: [String: Any] = [:]
        for (name, value) in members {
            var property = derived(name, value)
            switch refinements[name] {
            case .adding(let more): property.merge(more) { _, new in new }
            case .replacing(let other): property = other
            case nil: break
            }
            if nullable.contains(name), let type = property["type"] as? String { property["type"] = [type, "null"] }
            properties[name] = property
        }
        var schema: [String: Any] = ["type": "object", "properties": properties, "required": members.keys.sorted()]
        if strict { schema["additionalProperties"] = false }
        return schema
    }
}

extension WireSchemas {
    private static let date = Date(timeIntervalSince1970: 1_900_000_000)

    private static func body<Body: Codable>(
        _ name: String, _ example: Body, _ refinements: [String: Refinement]
    )
        -> Entry
    {
        Entry(
            name: name, examples: [example],
            decodes: { (try? WireJSON.decoder.decode(Body.self, from: $0)) != nil }, refinements: refinements)
    }

    private static func response(
        _ name: String, _ examples: [any Encodable], _ refinements: [String: Refinement] = [:]
    ) -> Entry {
        Entry(name: name, examples: examples, decodes: nil, refinements: refinements)
    }

    private static func reference(_ name: String) -> Refinement {
        .replacing(["$ref": "#/components/schemas/\(name)"])
    }

    private static func list(of name: String) -> Refinement {
        .replacing(["type": "array", "items": ["$ref": "#/components/schemas/\(name)"]])
    }

    private static func bounded(_ minimum: Int, _ maximum: Int) -> Refinement {
        .adding(["minimum": minimum, "maximum": maximum])
    }

    private static func maxLength(_ maximum: Int) -> Refinement { .adding(["maxLength": maximum]) }

    /// Text the service trims: at most `maximum` as sent, with something besides white space (Unicode's White_Space
    /// characters, listed, so that every regex dialect reads the class alike).
    private static func text(_ maximum: Int) -> Refinement {
        .adding([
            "minLength": 1, "maxLength": maximum,
            "pattern": "[^\\t\\n\\u000B\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]",
        ])
    }

    private static func values(_ values: [String]) -> Refinement { .adding(["enum": values]) }

    private static var kept: Refinement { .adding(["pattern": OpenAPIDocument.keptDateTimePattern]) }

    /// Every wire type the document describes, with its examples and refinements.
    static var entries: [Entry] {
        let event = { (description: String?, location: String?) in
            EventResponse(
                id: 1, title: "Gig", description: description, date: date, location: location, seatCount: 10,
                availableSeats: 9, organizerID: 1, createdAt: date, seatsPerUserMax: 10)
        }
        let booking = { (expiresAt: Date?) in
            BookingResponse(
                id: 1, reference: "EVT-000001", userID: 1, eventID: 2, seatCount: 1, status: "held",
                expiresAt: expiresAt, createdAt: date)
        }
        let product = ProductResponse(
            id: 1, sku: "DROP", name: "Drop", priceCents: 250, stock: 4, stockTotal: 5, createdAt: date)
        let order = OrderResponse(
            id: 1, userID: 1, productID: 1, quantity: 1, totalCents: 250, status: "pending", createdAt: date)
        let balance = BalanceResponse(balance: 5, used: 95, total: 100, lowBalance: true, threshold: 10)
        let entry = { (reason: String?) in
            LedgerEntryResponse(id: 1, kind: "deduct", amount: -5, balanceAfter: 95, reason: reason, createdAt: date)
        }
        let item = { (bid: Int?) in
            ItemResponse(
                id: 1, sellerID: 1, title: "Lamp", startingPriceCents: 100, minIncrementCents: 10,
                endsAt: bid.map { _ in date }, currentBidCents: bid, highestBidder: bid.map { _ in 2 }, bidCount: 1,
                minNextCents: 160, closed: false, createdAt: date)
        }
        let bid = BidResponse(itemID: 1, seq: 1, amountCents: 150, bidderID: 2, createdAt: date)
        let page = { (key: String, item: String) in [key: list(of: item)] }
        return [
            response("Status", [StatusResponse(status: "ok")]),
            response("Index", [IndexResponse()]),
            response(
                "Summary", [SummaryResponse(products: 1, unitsInStock: 5, orders: ["pending": 1])],
                [
                    "orders": .replacing([
                        "type": "object", "additionalProperties": ["type": "integer", "format": "int64"],
                    ])
                ]
            ),
            body(
                "Register", RegisterBody(email: "a@b.io", username: "ada", password: "password1"),
                [
                    "email": .adding(["maxLength": Limits.emailLengthMax, "format": "email"]),
                    "username": .adding([
                        "minLength": Limits.usernameLengthMin, "maxLength": Limits.usernameLengthMax,
                        "pattern": "^[A-Za-z0-9_.-]+$",
                    ]),
                    "password": .adding(["minLength": Limits.passwordLengthMin, "maxLength": Limits.passwordLengthMax]),
                ]),
            body("Login", LoginBody(email: "a@b.io", password: "password1"), [:]),
            response("User", [UserResponse(id: 1, email: "a@b.io", username: "ada", createdAt: date)]),
            response(
                "Token", [TokenResponse(accessToken: "t", expiresIn: 3_600)],
                ["token_type": .adding(["const": "bearer"])]),
            body(
                "NewEvent",
                NewEventBody(
                    title: "Gig", description: "loud", date: date, location: "Hall", seatCount: 10, seatsPerUserMax: 2),
                [
                    "title": text(Limits.eventTitleLengthMax),
                    "description": maxLength(Limits.eventDescriptionLengthMax), "date": kept,
                    "location": maxLength(Limits.eventLocationLengthMax),
                    "seat_count": bounded(1, Limits.eventSeatCountMax),
                    "max_seats_per_user": bounded(1, Limits.eventSeatCountMax),
                ]),
            response("Event", [event("loud", "Hall"), event(nil, nil)]),
            response(
                "EventPage", [PageResponse(items: [event(nil, nil)], total: 1, page: 1, pageSize: 20)],
                page("events", "Event")),
            body(
                "NewBooking", NewBookingBody(eventID: 1, seatCount: 2, holdSeconds: 60, waitlist: true),
                [
                    "seat_count": bounded(1, Limits.bookingSeatCountMax),
                    "hold_seconds": bounded(1, Limits.holdSecondsMax), "waitlist": .adding(["default": false]),
                ]),
            response(
                "Booking", [booking(date), booking(nil)],
                [
                    "reference": .adding(["pattern": "^EVT-[A-Z0-9]{6}$"]),
                    "status": values(["held", "confirmed", "cancelled", "expired"]),
                ]),
            response(
                "Waitlisted",
                [WaitlistResponse(id: 1, eventID: 2, userID: 3, seatCount: 1, waitlistPosition: 1, createdAt: date)],
                ["status": .adding(["const": "waitlisted"])]),
            response("BookingList", [BookingListResponse(bookings: [booking(nil)])], ["bookings": list(of: "Booking")]),
            body(
                "NewProduct", NewProductBody(sku: "DROP", name: "Drop", priceCents: 250, stock: 5),
                [
                    "sku": text(Limits.skuLengthMax), "name": text(Limits.productNameLengthMax),
                    "price_cents": bounded(0, Limits.priceCentsMax), "stock": bounded(1, Limits.productStockMax),
                ]),
            response("Product", [product]),
            response(
                "ProductPage", [PageResponse(items: [product], total: 1, page: 1, pageSize: 20)],
                page("products", "Product")),
            body(
                "NewOrder", NewOrderBody(productID: 1, quantity: 2), ["quantity": bounded(1, Limits.orderQuantityMax)]),
            response("Order", [order], ["status": values(["pending", "paid", "shipped", "cancelled"])]),
            response("OrderList", [OrderListResponse(orders: [order])], ["orders": list(of: "Order")]),
            body("TopUp", TopUpBody(amount: 100), ["amount": bounded(1, Limits.creditTopUpMax)]),
            body(
                "Deduct", DeductBody(amount: 5, reason: "api call"),
                ["amount": bounded(1, Limits.creditTopUpMax), "reason": text(Limits.ledgerReasonLengthMax)]),
            response("Balance", [balance]),
            response("LedgerEntry", [entry("api call"), entry(nil)], ["kind": values(["topup", "deduct"])]),
            response(
                "CreditChange", [CreditChangeResponse(transaction: entry(nil), account: balance)],
                ["transaction": reference("LedgerEntry"), "account": reference("Balance")]),
            response(
                "Transactions", [TransactionListResponse(transactions: [entry("x")])],
                ["transactions": list(of: "LedgerEntry")]),
            body(
                "NewItem", NewItemBody(title: "Lamp", startingPriceCents: 100, minIncrementCents: 10, endsAt: date),
                [
                    "title": text(Limits.itemTitleLengthMax), "starting_price_cents": bounded(1, Limits.priceCentsMax),
                    "min_increment_cents": bounded(1, Limits.priceCentsMax), "ends_at": kept,
                ]),
            // The highest bidder is a user's id, by a name without `_id`.
            response("Item", [item(150), item(nil)], ["highest_bidder": .adding(["minimum": 1])]),
            // A bid leaves room to be outbid by the item's increment, at least 1 (`Item.maximumBidCents`).
            body("NewBid", BidBody(amountCents: 150), ["amount_cents": bounded(1, Limits.priceCentsMax - 1)]),
            response("Bid", [bid]),
            response("BidList", [BidListResponse(bids: [bid])], ["bids": list(of: "Bid")]),
        ]
    }
}

/// Any JSON value, read without losing the difference between `true`, `1` and `1.0`: enough to tell a member's JSON
/// type.
indirect enum JSONShape: Codable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONShape])
    case object([String: JSONShape])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONShape].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONShape].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .object(let members): try container.encode(members)
        }
    }

    /// `value` as the service encodes it.
    init(encoding value: any Encodable) {
        guard let data = try? WireJSON.encoder.encode(value),
            let shape = try? JSONDecoder().decode(Self.self, from: data)
        else { preconditionFailure("\(type(of: value)) does not encode as JSON") }
        self = shape
    }

    /// This value as JSON.
    var data: Data {
        // Values read from JSON encode again.
        (try? JSONEncoder().encode(self)) ?? Data()
    }
}
