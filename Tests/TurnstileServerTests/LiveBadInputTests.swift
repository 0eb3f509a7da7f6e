import NIOCore
import NIOHTTP1
import NIOPosix
import TurnstileLoad
import Testing
import TurnstileTestSupport

/// Bad input against a live server: each gets its 4xx as problem+json with a stable code, and the server stays
/// healthy afterwards.
@Suite("Live bad input", .timeLimit(.minutes(2)))
struct LiveBadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let status: Int
        let code: String
        let request: @Sendable (_ token: String, _ eventID: Int) -> HTTPTestRequest
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown event", status: 404, code: "not_found") { token, _ in
            .json(.POST, "/api/v1/bookings/", ["event_id": 999_999, "seat_count": 1], token: token)
        },
        Case(name: "negative seats", status: 422, code: "validation_failed") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": -1], token: token)
        },
        Case(name: "zero seats", status: 422, code: "validation_failed") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": 0], token: token)
        },
        Case(name: "too many seats", status: 422, code: "validation_failed") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": 11], token: token)
        },
        Case(name: "malformed JSON", status: 400, code: "malformed_json") { token, _ in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: Array(#"{"event_id": 1, "seat_count": "#.utf8))
        },
        Case(name: "missing auth", status: 401, code: "unauthorized") { _, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": 1])
        },
        Case(name: "forged token", status: 401, code: "unauthorized") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": 1], token: token + "x")
        },
        Case(name: "huge payload", status: 413, code: "payload_too_large") { token, event in
            .json(
                .POST, "/api/v1/bookings/",
                ["event_id": event, "seat_count": 1, "padding": String(repeating: "x", count: 200_000)], token: token)
        },
        Case(name: "string for an integer", status: 422, code: "validation_failed") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": "2"], token: token)
        },
        Case(name: "float for an integer", status: 422, code: "validation_failed") { token, event in
            .json(.POST, "/api/v1/bookings/", ["event_id": event, "seat_count": 1.5], token: token)
        },
        Case(name: "integer overflow", status: 422, code: "validation_failed") { token, _ in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: Array(#"{"event_id": 99999999999999999999999, "seat_count": 1}"#.utf8))
        },
        Case(name: "null for a required field", status: 422, code: "validation_failed") { token, _ in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: Array(#"{"event_id": null, "seat_count": 1}"#.utf8))
        },
        Case(name: "array for an object", status: 422, code: "validation_failed") { token, _ in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: Array("[1, 2]".utf8))
        },
        Case(name: "empty body", status: 400, code: "malformed_json") { token, _ in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")])
        },
        Case(name: "wrong content type", status: 415, code: "unsupported_media_type") { token, event in
            HTTPTestRequest(
                .POST, "/api/v1/bookings/",
                headers: [("Content-Type", "text/plain"), ("Authorization", "Bearer \(token)")],
                body: Array(#"{"event_id": \#(event), "seat_count": 1}"#.utf8))
        },
        Case(name: "date in the wrong format", status: 422, code: "validation_failed") { token, _ in
            .json(.POST, "/api/v1/events/", ["title": "x", "date": "31/12/2026", "seat_count": 5], token: token)
        },
        Case(name: "a date past year 9999", status: 422, code: "validation_failed") { token, _ in
            .json(
                .POST, "/api/v1/events/", ["title": "x", "date": "99999-01-01T00:00:00Z", "seat_count": 5], token: token
            )
        },
        Case(name: "too many seats for an event", status: 422, code: "validation_failed") { token, _ in
            .json(
                .POST, "/api/v1/events/", ["title": "x", "date": "2026-12-31T20:00:00Z", "seat_count": 100_001],
                token: token)
        },
        Case(name: "page size over 100", status: 422, code: "validation_failed") { _, _ in
            HTTPTestRequest(.GET, "/api/v1/events/?page_size=101")
        },
        Case(name: "non-numeric id", status: 422, code: "validation_failed") { _, _ in
            HTTPTestRequest(.GET, "/api/v1/events/abc")
        },
        Case(name: "unknown route", status: 404, code: "not_found") { _, _ in
            HTTPTestRequest(.GET, "/api/v1/nowhere")
        },
        Case(name: "short password", status: 422, code: "validation_failed") { _, _ in
            .json(.POST, "/api/v1/auth/register", ["email": "a@b.io", "username": "abc", "password": "short"])
        },
        Case(name: "wrong password", status: 401, code: "invalid_credentials") { _, _ in
            .json(.POST, "/api/v1/auth/login", ["email": "probe@turnstile.test", "password": "not-the-password"])
        },
        Case(name: "taken email", status: 409, code: "email_taken") { _, _ in
            .json(
                .POST, "/api/v1/auth/register",
                ["email": "probe@turnstile.test", "username": "again", "password": "password-x"])
        },
    ]

    @Test("each bad input gets its 4xx as problem+json, and the server stays healthy", arguments: cases)
    func badInput(_ badCase: Case) async throws {
        try await LiveServer.with { server in
            let user = try await server.provisionUser("probe")
            let eventID = try await server.createEvent(seats: 5, organizer: user)
            let response = try await server.send(badCase.request(user.token, eventID))
            #expect(response.status == badCase.status, "\(response.text)")
            #expect(response.headers["Content-Type"].first == "application/problem+json")
            #expect(response.json["code"] as? String == badCase.code)
            #expect(response.json["status"] as? Int == badCase.status)
            #expect((response.json["detail"] as? String)?.isEmpty == false)

            #expect(try await server.send(.init(.GET, "/health")).status == 200)
            let booking = try await server.send(
                .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: user.token))
            #expect(booking.status == 201)
        }
    }
}

extension LiveBadInputTests {
    @Test("a body trickled a byte at a time is cut off at its deadline: 408 request_timeout, and the connection closes")
    func trickledBody() async throws {
        try await LiveServer.with { server in
            let head =
                "POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000\r\n\r\n{\"email\":"
            // A byte every 400 ms keeps the connection busy (so no idle timeout fires) for 16 s, far past the
            // body's deadline; the exchange gives up on the server after 20 s.
            let outcome = await RawExchange.send(
                Array(head.utf8), to: try LoadTarget(parsing: "http://127.0.0.1:\(server.port)"),
                on: MultiThreadedEventLoopGroup.singleton.next(), timeout: .seconds(20),
                trickle: (Array(repeating: UInt8(ascii: " "), count: 40), .milliseconds(400)))
            #expect(outcome == .answered(status: 408, contentType: "application/problem+json"))
            #expect(try await server.send(.init(.GET, "/health")).status == 200)
        }
    }
}
