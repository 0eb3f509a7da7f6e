import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileLoad
import TurnstileTestSupport

/// What the RFCs ask of an HTTP/1.1 server, against a live one: each request is raw bytes on a connection of its
/// own, so nothing in between can tidy it up.
@Suite("HTTP/1.1 protocol details", .timeLimit(.minutes(1)))
struct ProtocolTests {
    private func exchange(_ text: String, server: LiveServer, extra: [UInt8] = []) async throws -> RawExchange.Outcome {
        await RawExchange.send(
            Array(text.utf8) + extra, to: try LoadTarget(parsing: "http://127.0.0.1:\(server.port)"),
            on: MultiThreadedEventLoopGroup.singleton.next(), timeout: .seconds(10))
    }

    @Test("CONNECT is 405 and closes the connection; a request pipelined after it is not served as a tunnel")
    func connect() async throws {
        try await LiveServer.with { server in
            let outcome = try await exchange(
                "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                server: server)
            #expect(outcome == .answered(status: 405, contentType: "application/problem+json"))
        }
    }

    @Test("an HTTP/1.1 request without Host is 400 (RFC 9112 §3.2); HTTP/1.0 needs none")
    func missingHost() async throws {
        try await LiveServer.with { server in
            let outcome = try await exchange("GET /health HTTP/1.1\r\n\r\n", server: server)
            #expect(outcome == .answered(status: 400, contentType: "application/problem+json"))
            let old = try await exchange("GET /health HTTP/1.0\r\n\r\n", server: server)
            #expect(old == .answered(status: 200, contentType: "application/json; charset=utf-8"))
        }
    }

    @Test("HEAD on a GET route answers its status and headers, Content-Length included, without the body")
    func head() async throws {
        try await LiveServer.with { server in
            let get = try await server.send(.init(.GET, "/api/v1/events/"))
            let head = try await server.send(.init(.HEAD, "/api/v1/events/"))
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(head.headers.first(name: "Content-Length") == String(get.body.count))
            #expect(try await server.send(.init(.HEAD, "/api/v1/nowhere")).status == 404)
        }
    }

    @Test("a chunk extension too long for any request is cut off with 413, not read to its end")
    func chunkExtension() async throws {
        try await LiveServer.with { server in
            let head =
                "POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n5;ext="
            let outcome = try await exchange(
                head, server: server, extra: Array(repeating: UInt8(ascii: "a"), count: 2 * 1024 * 1024))
            // The server answers 413 and closes while megabytes are still arriving, which a client may see as a
            // reset before it reads the answer; what must not happen is a wait for the body's deadline.
            #expect(
                outcome == .answered(status: 413, contentType: "application/problem+json") || outcome == .reset,
                "\(outcome)")
            #expect(try await server.send(.init(.GET, "/health")).status == 200)
        }
    }

    @Test("a 404 names no part of the path it was asked for")
    func notFoundDetail() async throws {
        try await LiveServer.with { server in
            let response = try await server.send(.init(.GET, "/api/v1/<script>alert(1)</script>"))
            #expect(response.status == 404)
            let detail = try #require(response.json["detail"] as? String)
            #expect(!detail.contains("script") && !detail.contains("alert"))
        }
    }
}
