import Foundation
import Testing
import TurnstileWire

@testable import TurnstileServer

/// The OpenAPI document against the wire types, field by field: each schema has exactly the members its type
/// encodes, of the same JSON types (null only where the schema allows it), and a request body's schema requires
/// exactly the members its type cannot decode without. A field added, renamed or retyped on one side fails here.
@Suite("OpenAPI document against the wire types")
struct OpenAPIWireTypeTests {
    private static let date = Date(timeIntervalSince1970: 1_900_000_000)

    /// Each response schema with samples of its type: every optional set, then every optional null.
    private static let responses: [(schema: String, samples: [any Encodable & Sendable])] = [
        ("Status", [StatusResponse(status: "ok")]),
        ("Index", [IndexResponse()]),
        ("User", [UserResponse(id: 1, email: "a@b.io", username: "ada", createdAt: date)]),
        ("Token", [TokenResponse(accessToken: "t", expiresIn: 3_600)]),
        ("Event", [event(description: "loud", location: "Hall"), event(description: nil, location: nil)]),
        ("EventPage", [PageResponse(items: [event(description: nil, location: nil)], total: 1, page: 1, pageSize: 20)]),
        ("Booking", [booking(expiresAt: date), booking(expiresAt: nil)]),
        (
            "Waitlisted",
            [WaitlistResponse(id: 1, eventID: 2, userID: 3, seatCount: 1, waitlistPosition: 1, createdAt: date)]
        ),
        ("BookingList", [BookingListResponse(bookings: [booking(expiresAt: nil)])]),
        ("Product", [product]),
        ("ProductPage", [PageResponse(items: [product], total: 1, page: 1, pageSize: 20)]),
        ("Order", [order]),
        ("OrderList", [OrderListResponse(orders: [order])]),
        ("Summary", [SummaryResponse(products: 1, unitsInStock: 5, orders: ["pending": 1, "paid": 0])]),
        ("Balance", [balance]),
        ("LedgerEntry", [ledgerEntry(reason: "api call"), ledgerEntry(reason: nil)]),
        ("CreditChange", [CreditChangeResponse(transaction: ledgerEntry(reason: nil), account: balance)]),
        ("Transactions", [TransactionListResponse(transactions: [ledgerEntry(reason: "x")])]),
        ("Item", [item(bid: 150), item(bid: nil)]),
        ("Bid", [bid]),
        ("BidList", [BidListResponse(bids: [bid])]),
    ]

    /// Each request body's schema with a sample of its type that sets every member.
    private static let bodies: [(schema: String, sample: any Codable & Sendable)] = [
        ("Register", RegisterBody(email: "a@b.io", username: "ada", password: "password1")),
        ("Login", LoginBody(email: "a@b.io", password: "password1")),
        (
            "NewEvent",
            NewEventBody(
                title: "Gig", description: "loud", date: date, location: "Hall", seatCount: 10, seatsPerUserMax: 2)
        ),
        ("NewBooking", NewBookingBody(eventID: 1, seatCount: 2, holdSeconds: 60, waitlist: true)),
        ("NewProduct", NewProductBody(sku: "DROP", name: "Drop", priceCents: 250, stock: 5)),
        ("NewOrder", NewOrderBody(productID: 1, quantity: 2)),
        ("TopUp", TopUpBody(amount: 100)),
        ("Deduct", DeductBody(amount: 5, reason: "api call")),
        ("NewItem", NewItemBody(title: "Lamp", startingPriceCents: 100, minIncrementCents: 10, endsAt: date)),
        ("NewBid", BidBody(amountCents: 150)),
    ]

    private static func event(description: String?, location: String?) -> EventResponse {
        EventResponse(
            id: 1, title: "Gig", description: description, date: date, location: location, seatCount: 10,
            availableSeats: 9, organizerID: 1, createdAt: date, seatsPerUserMax: 10)
    }

    private static func booking(expiresAt: Date?) -> BookingResponse {
        BookingResponse(
            id: 1, reference: "EVT-000001", userID: 1, eventID: 2, seatCount: 1, status: "held", expiresAt: expiresAt,
            createdAt: date)
    }

    private static let product = ProductResponse(
        id: 1, sku: "DROP", name: "Drop", priceCents: 250, stock: 4, stockTotal: 5, createdAt: date)
    private static let order = OrderResponse(
        id: 1, userID: 1, productID: 1, quantity: 1, totalCents: 250, status: "pending", createdAt: date)
    private static let balance = BalanceResponse(balance: 5, used: 95, total: 100, lowBalance: true, threshold: 10)
    private static let bid = BidResponse(itemID: 1, seq: 1, amountCents: 150, bidderID: 2, createdAt: date)

    private static func ledgerEntry(reason: String?) -> LedgerEntryResponse {
        LedgerEntryResponse(id: 1, kind: "deduct", amount: -5, balanceAfter: 95, reason: reason, createdAt: date)
    }

    private static func item(bid: Int?) -> ItemResponse {
        ItemResponse(
            id: 1, sellerID: 1, title: "Lamp", startingPriceCents: 100, minIncrementCents: 10,
            endsAt: bid.map { _ in date }, currentBidCents: bid, highestBidder: bid.map { _ in 2 }, bidCount: 1,
            minNextCents: 160, closed: false, createdAt: date)
    }

    private let schemas: [String: JSONValue]

    init() throws {
        let document = try JSONDecoder().decode(JSONValue.self, from: OpenAPIDocument.json)
        schemas = try #require(document["components"]?["schemas"]?.object)
    }

    @Test("every response schema has exactly its type's members, of the same JSON types")
    func responseSchemas() throws {
        for (name, samples) in Self.responses {
            let schema = try #require(schemas[name], "no schema \(name)")
            for sample in samples {
                let encoded = try JSONDecoder().decode(JSONValue.self, from: WireJSON.encoder.encode(sample))
                check(encoded, against: schema, at: name)
            }
        }
    }

    @Test("every request body schema has its type's members, and requires exactly those the type requires")
    func requestSchemas() throws {
        for (name, sample) in Self.bodies {
            let schema = try #require(schemas[name], "no schema \(name)")
            let encoded = try JSONDecoder().decode(JSONValue.self, from: WireJSON.encoder.encode(sample))
            check(encoded, against: schema, at: name)
            let members = try #require(encoded.object)
            let properties = Set(schema["properties"]?.object.map { Array($0.keys) } ?? [])
            #expect(Set(members.keys) == properties, "\(name)'s members")
            // A member is required when the type cannot be decoded without it.
            let decodes = { (members: [String: JSONValue]) -> Bool in Self.decodes(like: sample, members) }
            #expect(decodes(members), "\(name)'s sample decodes")
            let required = Set(members.keys.filter { key in !decodes(members.filter { $0.key != key }) })
            let documented = Set(schema["required"]?.array?.compactMap(\.string) ?? [])
            #expect(
                required == documented,
                "\(name): required by the type \(required.sorted()), by the document \(documented.sorted())")
        }
    }

    /// Whether `members` decode as the type of `sample`.
    private static func decodes<Body: Decodable>(like sample: Body, _ members: [String: JSONValue]) -> Bool {
        guard let data = try? JSONEncoder().encode(JSONValue.object(members)) else { return false }
        return (try? WireJSON.decoder.decode(Body.self, from: data)) != nil
    }

    @Test("every schema of the document is checked against a wire type (Problem is the server's own)")
    func everySchemaChecked() {
        let checked = Set(Self.responses.map(\.schema) + Self.bodies.map(\.schema))
        #expect(Set(schemas.keys).subtracting(checked) == ["Problem"])
    }

    /// Records an issue wherever `value` breaks `schema`; a response schema (`additionalProperties: false`) must name
    /// every member the value has, and the value every member the schema requires.
    private func check(_ value: JSONValue, against schema: JSONValue, at path: String) {
        if let reference = schema["$ref"]?.string {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let resolved = schemas[name] else {
                Issue.record("\(path): unresolved \(reference)")
                return
            }
            check(value, against: resolved, at: path)
            return
        }
        let types = schema["type"].map { $0.array?.compactMap(\.string) ?? [$0.string ?? ""] } ?? []
        guard types.contains(value.jsonType) || (value.jsonType == "integer" && types.contains("number")) else {
            Issue.record("\(path) is \(value.jsonType), the document says \(types)")
            return
        }
        switch value {
        case .object(let members):
            let properties = schema["properties"]?.object ?? [:]
            for required in schema["required"]?.array?.compactMap(\.string) ?? [] where members[required] == nil {
                Issue.record("\(path).\(required) is required by the document but missing")
            }
            for (key, member) in members {
                if let property = properties[key] {
                    check(member, against: property, at: "\(path).\(key)")
                } else if let additional = schema["additionalProperties"], additional.object != nil {
                    check(member, against: additional, at: "\(path).\(key)")
                } else {
                    Issue.record("\(path).\(key) is not in the document")
                }
            }
        case .array(let elements):
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() {
                    check(element, against: items, at: "\(path)[\(index)]")
                }
            }
        default: break
        }
    }
}

/// Any JSON value, read without losing the difference between `true`, `1` and `1.0`.
indirect enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .integer(let integer): try container.encode(integer)
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }

    var jsonType: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    subscript(key: String) -> JSONValue? { object?[key] }
    var object: [String: JSONValue]? { if case .object(let object) = self { object } else { nil } }
    var array: [JSONValue]? { if case .array(let array) = self { array } else { nil } }
    var string: String? { if case .string(let string) = self { string } else { nil } }
}

/// How a schema is derived from a wire type, on types made for the test.
@Suite("Schemas derived from wire types")
struct WireSchemaDerivationTests {
    struct Answer: Codable {
        let id: Int64
        let ownerID: Int64
        let name: String
        let note: String?
        let at: Date
        let open: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, note, at, open
            case ownerID = "owner_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(ownerID, forKey: .ownerID)
            try container.encode(name, forKey: .name)
            try container.encode(note, forKey: .note)
            try container.encode(at, forKey: .at)
            try container.encode(open, forKey: .open)
        }
    }

    struct Ask: Codable {
        let title: String
        let count: Int?
    }

    private func properties(_ schema: [String: Any]) -> [String: [String: Any]] {
        (schema["properties"] as? [String: Any] ?? [:]).compactMapValues { $0 as? [String: Any] }
    }

    @Test("members, JSON types, ids, dates and nullable members come from the type; refinements add what it cannot say")
    func response() {
        let date = Date(timeIntervalSince1970: 1_900_000_000)
        let schema = WireSchemas.schema(
            of: .init(
                name: "Answer",
                examples: [
                    Answer(id: 1, ownerID: 2, name: "a", note: "n", at: date, open: true),
                    Answer(id: 1, ownerID: 2, name: "a", note: nil, at: date, open: true),
                ], decodes: nil, refinements: ["name": .adding(["maxLength": 5])]))
        let members = properties(schema)
        #expect(Set(members.keys) == ["id", "owner_id", "name", "note", "at", "open"])
        #expect(members["id"]?["minimum"] as? Int == 1 && members["owner_id"]?["minimum"] as? Int == 1)
        #expect(members["at"]?["format"] as? String == "date-time")
        #expect(members["note"]?["type"] as? [String] == ["string", "null"])
        #expect(members["open"]?["type"] as? String == "boolean")
        #expect(members["name"]?["maxLength"] as? Int == 5 && members["name"]?["type"] as? String == "string")
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(schema["required"] as? [String] == ["at", "id", "name", "note", "open", "owner_id"])
    }

    @Test("a request body requires what its type cannot decode without, and takes unknown members")
    func body() {
        let schema = WireSchemas.schema(
            of: .init(
                name: "Ask", examples: [Ask(title: "t", count: 3)],
                decodes: { (try? JSONDecoder().decode(Ask.self, from: $0)) != nil }, refinements: [:]))
        #expect(schema["required"] as? [String] == ["title"])
        #expect(properties(schema)["count"]?["type"] as? [String] == ["integer", "null"])
        #expect(schema["additionalProperties"] == nil)
    }
}
