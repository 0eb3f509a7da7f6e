import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TurnstileTestSupport

@testable import TurnstileServer

/// The routes in process, over a scratch SQLite store: shapes, status codes and auth, without sockets.
@Suite("Router")
struct RouterTests {
    /// Runs `test` against the router of a server over a scratch SQLite store.
    private func withRouter(
        _ configuration: ServerConfiguration = ServerConfiguration(
            jwtSecret: Array(repeating: 9, count: 32), passwordHashRounds: 1),
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withScratchStore { store in
            try await Server(configuration: configuration, store: store).application().test(.router, test)
        }
    }

    private func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    private func object(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    private let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    private func token(_ client: some TestClientProtocol, email: String = "ada@example.com") async throws -> String {
        let credentials = ["email": email, "password": "correct horse"]
        let registered = try await client.execute(
            uri: "/api/v1/auth/register", method: .post, headers: jsonHeaders,
            body: json(credentials.merging(["username": "ada"]) { $1 }))
        #expect(registered.status == .created)
        let login = try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders, body: json(credentials))
        #expect(login.status == .ok)
        #expect(object(login)["token_type"] as? String == "bearer")
        #expect(object(login)["expires_in"] as? Int == 3_600)
        return try #require(object(login)["access_token"] as? String)
    }

    @Test("a path the service has, asked with another method: 405 method_not_allowed with Allow; elsewhere 404")
    func methodNotAllowed() async throws {
        try await withRouter { client in
            let cases: [(uri: String, method: HTTPRequest.Method, allow: String?)] = [
                ("/api/v1/events/", .init("TRACE")!, "GET, HEAD, POST"),
                ("/api/v1/events/7", .delete, "GET, HEAD"),
                ("/api/v1/bookings/7", .put, "DELETE"),
                ("/health", .post, "GET, HEAD"),
                ("/api/v1/nowhere", .get, nil),
                ("/api/v1/events/7/nothing", .delete, nil),
            ]
            for (uri, method, allow) in cases {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == (allow == nil ? .notFound : .methodNotAllowed), "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(object(response)["code"] as? String == (allow == nil ? "not_found" : "method_not_allowed"))
            }
        }
    }

    @Test("register, log in, create an event, book, list and cancel")
    func happyPath() async throws {
        try await withRouter { client in
            let token = try await token(client)
            var auth = jsonHeaders
            auth[.authorization] = "Bearer \(token)"

            let created = try await client.execute(
                uri: "/api/v1/events/", method: .post, headers: auth,
                body: json(["title": "Gig", "date": "2026-12-31T20:00:00.250Z", "seat_count": 5, "location": "Hall"]))
            #expect(created.status == .created)
            let event = object(created)
            #expect(event["available_seats"] as? Int == 5)
            #expect(event["date"] as? String == "2026-12-31T20:00:00Z")
            #expect(event.keys.contains("description"), "absent optionals are sent as null")
            let eventID = try #require(event["id"] as? Int)

            let booked = try await client.execute(
                uri: "/api/v1/bookings/", method: .post, headers: auth,
                body: json(["event_id": eventID, "seat_count": 2]))
            #expect(booked.status == .created)
            let booking = object(booked)
            #expect((booking["reference"] as? String)?.hasPrefix("EVT-") == true)
            #expect(booking["status"] as? String == "confirmed")

            let mine = try await client.execute(uri: "/api/v1/bookings/", method: .get, headers: auth)
            #expect((object(mine)["bookings"] as? [Any])?.count == 1)

            let cancelled = try await client.execute(
                uri: "/api/v1/bookings/\(booking["id"] as! Int)", method: .delete, headers: auth)
            #expect(cancelled.status == .ok)
            #expect(object(cancelled)["status"] as? String == "cancelled")
            let detail = try await client.execute(uri: "/api/v1/events/\(eventID)", method: .get)
            #expect(object(detail)["available_seats"] as? Int == 5)
        }
    }

    @Test("events are listed a page at a time")
    func paging() async throws {
        try await withRouter { client in
            var auth = jsonHeaders
            auth[.authorization] = "Bearer \(try await token(client))"
            for index in 1...5 {
                _ = try await client.execute(
                    uri: "/api/v1/events/", method: .post, headers: auth,
                    body: json(["title": "E\(index)", "date": "2026-12-31T20:00:00Z", "seat_count": 1]))
            }
            let page = try await client.execute(uri: "/api/v1/events/?page=2&page_size=2", method: .get)
            let body = object(page)
            #expect(body["total"] as? Int == 5)
            #expect(body["page"] as? Int == 2 && body["page_size"] as? Int == 2)
            #expect((body["events"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["E3", "E4"])
            let unslashed = try await client.execute(uri: "/api/v1/events", method: .get)
            #expect(unslashed.status == .ok)
        }
    }

    @Test("another user's booking reads as not found")
    func ownership() async throws {
        try await withRouter { client in
            var ada = jsonHeaders
            ada[.authorization] = "Bearer \(try await token(client))"
            var bob = jsonHeaders
            bob[.authorization] = "Bearer \(try await token(client, email: "bob@example.com"))"
            let event = try await client.execute(
                uri: "/api/v1/events/", method: .post, headers: ada,
                body: json(["title": "Gig", "date": "2026-12-31T20:00:00Z", "seat_count": 5]))
            let booking = try await client.execute(
                uri: "/api/v1/bookings/", method: .post, headers: ada,
                body: json(["event_id": object(event)["id"] as! Int, "seat_count": 1]))
            let stolen = try await client.execute(
                uri: "/api/v1/bookings/\(object(booking)["id"] as! Int)", method: .delete, headers: bob)
            #expect(stolen.status == .notFound)
            #expect(object(stolen)["code"] as? String == "not_found")
            let bobs = try await client.execute(uri: "/api/v1/bookings/", method: .get, headers: bob)
            #expect((object(bobs)["bookings"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("health answers without the store; ready asks the store")
    func operations() async throws {
        try await withRouter { client in
            let health = try await client.execute(uri: "/health", method: .get)
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(health.status == .ok && ready.status == .ok)
        }
    }
}

extension RouterTests {
    @Test("event reads are cached until a write changes them, and never serve a stale availability")
    func readCache() async throws {
        try await withRouter { client in
            var auth = jsonHeaders
            auth[.authorization] = "Bearer \(try await token(client))"
            let created = try await client.execute(
                uri: "/api/v1/events/", method: .post, headers: auth,
                body: json(["title": "Gig", "date": "2026-12-31T20:00:00Z", "seat_count": 5]))
            let id = try #require(object(created)["id"] as? Int)
            let cacheHeader = HTTPField.Name("Turnstile-Cache")!

            let first = try await client.execute(uri: "/api/v1/events/\(id)", method: .get)
            let second = try await client.execute(uri: "/api/v1/events/\(id)", method: .get)
            #expect(first.headers[cacheHeader] == "miss" && second.headers[cacheHeader] == "hit")
            #expect(object(second)["available_seats"] as? Int == 5)
            let firstPage = try await client.execute(uri: "/api/v1/events/", method: .get)
            #expect(firstPage.headers[cacheHeader] == "miss")

            let booked = try await client.execute(
                uri: "/api/v1/bookings/", method: .post, headers: auth, body: json(["event_id": id, "seat_count": 2]))
            #expect(booked.status == .created)
            let afterBooking = try await client.execute(uri: "/api/v1/events/\(id)", method: .get)
            #expect(afterBooking.headers[cacheHeader] == "miss")
            #expect(object(afterBooking)["available_seats"] as? Int == 3)
            let pageAfterBooking = try await client.execute(uri: "/api/v1/events/", method: .get)
            let listed = (object(pageAfterBooking)["events"] as? [[String: Any]])?.first?["available_seats"] as? Int
            #expect(listed == 3)

            _ = try await client.execute(
                uri: "/api/v1/bookings/\(object(booked)["id"] as! Int)", method: .delete, headers: auth)
            let afterCancel = try await client.execute(uri: "/api/v1/events/\(id)", method: .get)
            #expect(object(afterCancel)["available_seats"] as? Int == 5)
        }
    }

    @Test("with the cache off, every read goes to the store and says nothing about a cache")
    func noCache() async throws {
        let configuration = ServerConfiguration(
            jwtSecret: Array(repeating: 9, count: 32), passwordHashRounds: 1, readCacheEnabled: false)
        try await withRouter(configuration) { client in
            let response = try await client.execute(uri: "/api/v1/events/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("Turnstile-Cache")!] == nil)
        }
    }
}
