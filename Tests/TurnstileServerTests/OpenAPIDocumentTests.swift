import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TurnstileCore
import TurnstileSQLite
import TurnstileTestSupport
import TurnstileWire

@testable import TurnstileServer

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// Runs `body` with a server over a scratch SQLite store.
    private func withServer(_ body: (Server<SQLiteStore>) async throws -> Void) async throws {
        try await withScratchStore { store in
            try await body(
                Server(
                    configuration: ServerConfiguration(
                        jwtSecret: Array(repeating: 9, count: 32), passwordHashRounds: 1),
                    store: store))
        }
    }

    /// "GET /api/v1/events/{id}", from either spelling: the router's `:id` or the document's `{id}`, with or without
    /// a trailing slash (the service answers both).
    private func normalized(_ method: String, _ path: String) -> String {
        var path = path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
        path = "/" + path
        return "\(method.uppercased()) \(path)"
    }

    @Test("every route the server registers is in the document, and every operation of the document is a route")
    func routesEqualDocument() async throws {
        try await withServer { server in
            let routes = Set(server.router().routes.map { normalized($0.method.rawValue, $0.path.description) })
            let documented = Set(OpenAPIDocument.operations.map { normalized($0.method, $0.path) })
            #expect(routes.subtracting(documented).isEmpty, "routes missing from the document")
            #expect(documented.subtracting(routes).isEmpty, "documented operations the server lacks")
            #expect(routes.count >= 30)
        }
    }

    @Test("each endpoint is described once, and Allow says what the endpoints at a path answer")
    func endpointsOnce() {
        #expect(Set(Endpoint.all.map(\.id)).count == Endpoint.all.count, "an operationId used twice")
        #expect(
            Set(Endpoint.all.map { "\($0.method) \($0.routerPath)" }).count == Endpoint.all.count,
            "a method and path described twice")
        #expect(Endpoint.methods(answering: "/api/v1/events/") == ["GET", "HEAD", "POST"])
        #expect(Endpoint.methods(answering: "/api/v1/events/7") == ["GET", "HEAD"])
        #expect(Endpoint.methods(answering: "/api/v1/bookings/7") == ["DELETE"])
        #expect(Endpoint.methods(answering: "/api/v1/nothing").isEmpty)
        #expect(
            OrderAction.allCases.map { Endpoint.orderTransition($0).path.hasSuffix("/" + $0.rawValue) } == [
                true, true, true,
            ])
    }

    @Test("GET /openapi.json serves an OpenAPI 3.1 document whose references all resolve")
    func served() async throws {
        try await withServer { server in
            try await server.application().test(.router) { client in
                let response = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(response.status == .ok)
                let document = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                #expect(document["openapi"] as? String == "3.1.0")
                let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                let references = text.matches(of: /"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/).map { String($0.1) }
                #expect(!references.isEmpty)
                for reference in Set(references) { #expect(schemas[reference] != nil, "unresolved \(reference)") }
            }
        }
    }

    @Test("every link names an operation of the document that takes the id it passes")
    func linksResolve() throws {
        let text = String(decoding: OpenAPIDocument.json, as: UTF8.self)
        let operationIDs = Set(text.matches(of: /"operationId":"([A-Za-z]+)"/).map { String($0.1) })
        let linked = text.matches(of: /"operationId":"([A-Za-z]+)","parameters":\{"id":"\$response\.body#\/id"\}/)
            .map { String($0.1) }
        #expect(linked.count >= 10)
        #expect(Set(linked).isSubset(of: operationIDs), "\(Set(linked).subtracting(operationIDs))")
    }

    @Test("each documented problem code is one the service can answer with")
    func problemCodes() throws {
        let text = String(decoding: OpenAPIDocument.json, as: UTF8.self)
        let codes = Set(
            text.matches(of: /"enum":\[("[a-z_]+"(,"[a-z_]+")*)\]/).flatMap {
                $0.1.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            })
        let known: Set<String> = [
            "validation_failed", "malformed_json", "not_found", "email_taken", "invalid_credentials", "unauthorized",
            "sold_out", "insufficient_stock", "insufficient_credits", "credit_limit_exceeded", "bid_too_low",
            "auction_closed", "hold_expired", "illegal_transition", "sku_taken", "waitlist_full",
            "idempotency_key_reused", "overloaded", "store_unavailable", "rate_limited", "payload_too_large",
            "unsupported_media_type", "upgrade_required", "bad_request", "request_timeout", "own_item",
            "user_limit_reached", "method_not_allowed",
        ]
        let statusWords: Set<String> = [
            "held", "confirmed", "cancelled", "expired", "pending", "paid", "shipped", "topup", "deduct",
        ]
        #expect(codes.subtracting(known).subtracting(statusWords).isEmpty)
        #expect(codes.contains("sold_out") && codes.contains("rate_limited"))
    }

    @Test("the kept date-time pattern admits exactly the UTC times the service keeps, leap seconds included")
    func keptDateTimePattern() throws {
        let pattern = OpenAPIDocument.keptDateTimePattern
        let regex = try NSRegularExpression(pattern: pattern)
        struct Dated: Decodable { let date: Date }
        for text in [
            "1970-01-01T00:00:00Z", "1970-06-30T23:59:60Z", "1970-01-01T00:00:00+01:00", "5000-02-03T04:05:06+05:00",
            "9999-11-30T23:59:60Z", "9999-12-30T23:59:60Z", "9999-12-31T22:59:60Z", "9999-12-31T23:58:60Z",
            "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:60Z", "9999-12-31T23:59:60.5Z",
        ] {
            let admitted = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            let date = try WireJSON.decoder.decode(Dated.self, from: Data(#"{"date":"\#(text)"}"#.utf8)).date
            let kept = Limits.eventDateSecondsRange.contains(date.timeIntervalSince1970)
            #expect(
                admitted == kept,
                "\(text): the document \(admitted ? "admits" : "refuses") it, the service \(kept ? "keeps" : "refuses") it"
            )
        }
    }
}
