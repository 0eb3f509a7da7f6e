import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
import TurnstileCore
import TurnstileLoad
import TurnstileReport
import TurnstileServer
import TurnstileTestSupport

/// The engine over HTTPS: against a live service behind TLS with a certificate made here, trusted with --ca-file,
/// refused without it, skipped with --insecure; and `turnstile serve --tls-cert --tls-key` raced exactly.
@Suite("HTTPS targets", .serialized, .timeLimit(.minutes(2)))
struct TLSTests {
    @Test("stress url over HTTPS: --ca-file trusts the certificate; without it one line, exit 3; --insecure says so")
    func urlOverHTTPS() async throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, tls) = try TestCertificate.make(in: folder)
        let json = folder.appendingPathComponent("url.json")
        let (trusted, refused, insecure, port) = try await LiveServer.with(tls: tls) { server in
            let url = "https://127.0.0.1:\(server.port)/health"
            let trusted = try await TurnstileProcess.run([
                "stress", "url", url, "-c", "2", "-d", "2s", "--ca-file", paths.certificate, "--json", json.path,
            ])
            let refused = try await TurnstileProcess.run(["stress", "url", url, "-c", "2", "-d", "1s"])
            let insecure = try await TurnstileProcess.run(["stress", "url", url, "-c", "2", "-d", "1s", "--insecure"])
            return (trusted, refused, insecure, server.port)
        }
        #expect(trusted.status == 0, "\(trusted.output)")
        let report = try JSONReport.decode(Data(contentsOf: json))
        let overall = try #require(report.phases.first?.overall)
        // More requests than connections: each connection carries many (how many is the machine's business).
        #expect(
            report.target == "https://127.0.0.1:\(port)" && overall.requests > 2 && overall.errors == 0,
            "\(trusted.output)")
        #expect(overall.count(status: 200) == overall.requests)
        // The connections' set-up is measured apart from the requests: TCP, then the TLS handshake, once each.
        let phase = try #require(report.phases.first)
        #expect(phase.connectLatency?.count == 2 && phase.tlsLatency?.count == 2)
        #expect(phase.httpVersions == ["2": 2], "the service offers HTTP/2 in its handshake, and the engine takes it")
        #expect(phase.connectionSetup?.contains("; TLS p50 ") == true, "\(phase.connectionSetup ?? "")")
        #expect(refused.status == 3, "\(refused.output)")
        // One handshake before the run finds the certificate untrusted, and says so, and what to do.
        #expect(
            refused.output.contains(
                "Could not run: TLS with https://127.0.0.1:\(port) failed (certificate verify failed (not signed by an "
                    + "authority trusted here, or not for this host))"),
            "\(refused.output)")
        #expect(
            refused.output.contains("— pass --ca-file FILE to trust its certificate, or --insecure to skip the check"))
        #expect(!refused.output.contains("GET /health"), "nothing was sent")
        #expect(insecure.status == 0 && insecure.output.contains("TLS certificate verification was off"))
    }

    @Test("live feeds over TLS (wss) and the bad-input catalogue's raw requests work against an https target")
    func fanoutAndEdgeOverHTTPS() async throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, tls) = try TestCertificate.make(in: folder)
        let (fanout, lingering, edge) = try await LiveServer.with(tls: tls) { server in
            let target = "https://127.0.0.1:\(server.port)"
            let fanout = try await TurnstileProcess.run([
                "stress", "fanout", "--target", target, "-c", "20", "--bids", "3", "--ca-file", paths.certificate,
            ])
            // The subscribers' connections are gone at the server too, long before NIOSSL's five-second wait for a
            // close_notify would have let them go: the next phase's connections must not find the client's share
            // taken.
            let metrics = try LoadTarget(parsing: target, tls: TLSOptions(caFile: paths.certificate))
            let connection = try await HTTPClientConnection.connect(
                to: metrics, on: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
            defer { connection.close() }
            var lingering = Int.max
            let deadline = ContinuousClock.now + .seconds(2)
            while lingering > 1, ContinuousClock.now < deadline {
                let page = try await connection.eventLoop.flatSubmit {
                    connection.send(
                        LoadRequest(endpoint: "metrics", method: .GET, path: "/metrics"), timeouts: .init(),
                        keepBody: true)
                }.get()
                let text = String(buffer: page.body)
                lingering =
                    text.firstMatch(of: /\nturnstile_connections_open ([0-9.]+)/).flatMap { Double($0.1) }.map {
                        Int($0) - 1
                    } ?? Int.max
                if lingering > 1 { try await Task.sleep(for: .milliseconds(50)) }
            }
            let edge = try await TurnstileProcess.run([
                "stress", "edge", "--target", target, "--ca-file", paths.certificate,
            ])
            return (fanout, lingering, edge)
        }
        #expect(fanout.status == 0 && fanout.output.contains("delivered 60 of 60"), "\(fanout.output)")
        #expect(lingering <= 1, "\(lingering) subscriber connections still open at the server 2 s after the run")
        #expect(edge.status == 0, "\(edge.output)")
    }

    @Test("the race over HTTPS against turnstile serve --tls-cert --tls-key: exactly the seats, as over HTTP/1.1")
    func raceAgainstServeWithTLS() async throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, _) = try TestCertificate.make(in: folder)
        try await RunningTurnstile.with([
            "serve", "--port", "0", "--database", folder.appendingPathComponent("tls.sqlite").path, "--tls-cert",
            paths.certificate, "--tls-key", paths.key, "--password-hash-rounds", "1", "--auth-rate-limit", "off",
        ]) { serve in
            let line = try await serve.line(containing: "Turnstile listening on https://127.0.0.1:")
            let port = try #require(line.firstMatch(of: /https:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
            // HTTP/2 by default (the server offers it in the handshake): 40 streams on one connection, their ends
            // released in one packet. HTTP/1.1 when asked: 40 connections, 40 packets. Exact both ways.
            for (http, connections) in [("auto", 1), ("1.1", 40)] {
                let json = folder.appendingPathComponent("race-\(http).json")
                let (status, output) = try await TurnstileProcess.run([
                    "stress", "race", "--target", "https://127.0.0.1:\(port)", "--users", "40", "--capacity", "7",
                    "--ca-file", paths.certificate, "--http", http, "--json", json.path,
                ])
                #expect(status == 0, "\(output)")
                let report = try JSONReport.decode(Data(contentsOf: json))
                let race = try #require(report.phases.first)
                #expect(race.overall.count(status: 201) == 7 && race.overall.count(status: 409) == 33, "\(http)")
                #expect(race.overall.errorCounts.isEmpty, "\(http): \(race.overall.errorCounts)")
                #expect(report.invariants.count == 7 && report.invariants.allSatisfy(\.passed))
                #expect(race.releaseSpreadMicroseconds != nil && race.tlsLatency?.count == UInt64(connections))
                #expect(race.httpVersions == [http == "auto" ? "2" : "1.1": UInt64(connections)])
                #expect(race.releasePackets == UInt64(connections))
            }
            // The whole grid over HTTP/2, exact as over HTTP/1.1: 100→10, 300→299 (three connections of 100 streams,
            // released together), 300×10→10 and the stock race.
            let json = folder.appendingPathComponent("grid.json")
            let (status, output) = try await TurnstileProcess.run([
                "stress", "race", "--grid", "--target", "https://127.0.0.1:\(port)", "--ca-file", paths.certificate,
                "--json", json.path,
            ])
            #expect(status == 0, "\(output)")
            let grid = try JSONReport.decode(Data(contentsOf: json))
            #expect(grid.phases.count == 4 && grid.phases.allSatisfy { $0.httpVersions.keys.sorted() == ["2"] })
            #expect(grid.phases.first { $0.users == 300 }?.httpVersions == ["2": 3])
            let (answered, held) = (
                grid.phases.allSatisfy { $0.overall.errorCounts.isEmpty }, grid.invariants.allSatisfy(\.passed)
            )
            #expect(answered && held && !grid.invariants.isEmpty)
        }
    }

    @Test("a scenario of body-less races (pay, ship, cancel) over HTTP/2 and HTTP/1.1: none answered before release")
    func scenarioOverHTTP2() async throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, tls) = try TestCertificate.make(in: folder)
        let file = ScenarioProcessTests.repository.appendingPathComponent("scenarios/orders-lifecycle.yaml").path
        try await LiveServer.with(tls: tls) { server in
            for http in ["2", "1.1"] {
                let json = folder.appendingPathComponent("lifecycle-\(http).json")
                let (status, output) = try await TurnstileProcess.run([
                    "stress", "run", file, "--target", "https://127.0.0.1:\(server.port)", "--set", "users=12",
                    "--ca-file", paths.certificate, "--http", http, "--json", json.path,
                ])
                #expect(status == 0, "\(http): \(output)")
                let report = try JSONReport.decode(Data(contentsOf: json))
                let races = report.phases.filter { $0.executor == "barrier" }
                #expect(!races.isEmpty && races.allSatisfy { $0.httpVersions.keys.sorted() == [http] })
                let (answered, held) = (
                    report.phases.allSatisfy { $0.overall.errorCounts.isEmpty }, report.invariants.allSatisfy(\.passed)
                )
                #expect(answered && held, "\(http)")
            }
        }
    }

    @Test("stress url over HTTP/2: --streams 4 puts 8 users on 2 connections; h2c with prior knowledge on http://")
    func urlOverHTTP2() async throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, tls) = try TestCertificate.make(in: folder)
        try await LiveServer.with(tls: tls) { server in
            let json = folder.appendingPathComponent("streams.json")
            let (status, output) = try await TurnstileProcess.run([
                "stress", "url", "https://127.0.0.1:\(server.port)/health", "-c", "8", "-d", "1s", "--streams", "4",
                "--ca-file", paths.certificate, "--json", json.path,
            ])
            #expect(status == 0, "\(output)")
            let phase = try #require(try JSONReport.decode(Data(contentsOf: json)).phases.first)
            #expect(phase.httpVersions == ["2": 2] && phase.tlsLatency?.count == 2, "\(phase.httpVersions)")
            // More requests than users: each user looped on its stream (how often is the machine's business).
            #expect(
                phase.overall.requests > 8 && phase.overall.count(status: 200) == phase.overall.requests,
                "\(output)")
            #expect(phase.connectionSetup?.hasSuffix("(2 connections, HTTP/2)") == true, "\(phase.connectionSetup!)")
        }
        // The service speaks HTTP/1.1 on plain TCP: HTTP/2 with prior knowledge fails, and says how.
        try await LiveServer.with { server in
            let (status, output) = try await TurnstileProcess.run([
                "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "1", "-d", "1s", "--http", "2",
            ])
            #expect(status != 0 && output.contains("protocol"), "\(output)")
        }
    }

    @Test("a TLS connection that stays silent, or sends half a ClientHello, is closed at the handshake deadline")
    func unfinishedHandshakes() async throws {
        try await withHTTPSServer(configure: { $0.tlsHandshakeTimeout = .seconds(1) }) { server, _ in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            // A TLS 1.2 record header promising 512 bytes of handshake, and the first few of them.
            let halfHello: [UInt8] =
                [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
                + Array(
                    repeating: 0, count: 20)
            for bytes in [[], halfHello] {
                let started = ContinuousClock.now
                let outcome = await RawExchange.send(
                    bytes, to: target, on: MultiThreadedEventLoopGroup.singleton.next(), timeout: .seconds(20))
                let elapsed = ContinuousClock.now - started
                // Closed by the server, at its deadline (not the 20 s this side would wait, nor never).
                #expect(outcome == .closedSilently || outcome == .reset, "\(outcome)")
                #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10), "\(elapsed)")
            }
        }
    }

    @Test("an HTTP/2 client that never reads its answers is closed, and the server goes on serving")
    func http2ClientThatNeverReads() async throws {
        try await withHTTPSServer { server, certificate in
            // A window of zero: the server may send headers, never a byte of any body.
            let client = try await HTTP2TestConnection.connect(
                port: server.port, trusting: certificate, initialWindowSize: 0)
            defer { client.close() }
            try await client.send(
                stride(from: 1, through: 199, by: 2).map {
                    HTTP2TestConnection.request($0, "GET", "/openapi.json", ends: true)
                })
            // A hundred answers it never takes are more than the connection may hold: closed within a second or two
            // of going over (or, below the bound, after the stall deadline).
            let closed = await client.wait(within: .seconds(Limits.http2StalledSecondsMax + 5)) { client.isClosed }
            #expect(closed)
            let health = try await send(
                HTTPTestRequest(.GET, "/health"), toTLS: server.port, trusting: certificate)
            #expect(health == 200)
        }
    }

    @Test("HTTP/2 streams with unfinished bodies: past the bound reset at once; a slow one gets its 408; others go on")
    func http2UnfinishedBodies() async throws {
        // The server's bound, made small: the default (10,000) needs 100 connections of 100 streams to reach.
        let limit = 16
        try await withHTTPSServer(configure: { $0.http2UnfinishedStreamsMax = limit }) { server, certificate in
            let client = try await HTTP2TestConnection.connect(port: server.port, trusting: certificate)
            defer { client.close() }
            let posts = (0..<(limit + 4)).map { 1 + 2 * $0 }
            // Each promises 100 bytes and sends 10: a body that never finishes.
            try await client.send(
                posts.flatMap { id in
                    [
                        HTTP2TestConnection.request(id, "POST", "/api/v1/bookings/", ends: false, contentLength: 100),
                        HTTP2TestConnection.data(id, "{\"event_id\""),
                    ]
                })
            let refused = Array(posts.suffix(4))
            #expect(await client.wait(within: .seconds(5)) { refused.allSatisfy(client.wasReset) })
            // An unrelated request on the same connection is answered while the bodies wait.
            let health = posts.last! + 2
            try await client.send([HTTP2TestConnection.request(health, "GET", "/health", ends: true)])
            #expect(await client.wait(within: .seconds(5)) { client.wasEnded(health) }, "\(client.transcript)")
            #expect(client.status(on: health) == 200)
            // At the body deadline each waiting stream gets its 408 and is reset; the connection stays.
            let waiting = Array(posts.prefix(limit))
            let answered = await client.wait(within: .seconds(Int64(Limits.requestBodySecondsMax) + 10)) {
                waiting.allSatisfy { client.status(on: $0) == 408 && client.wasReset($0) }
            }
            #expect(answered, "\(waiting.map { client.status(on: $0) })")
            #expect(refused.allSatisfy { client.status(on: $0) == nil })
            #expect(!client.isClosed && !client.wentAway)
            let after = health + 2
            try await client.send([HTTP2TestConnection.request(after, "GET", "/health", ends: true)])
            #expect(await client.wait(within: .seconds(5)) { client.status(on: after) == 200 })
        }
    }

    @Test("an HTTP/2 connection that ignores GOAWAY at shutdown is closed after the grace, and the shutdown ends")
    func http2IgnoringGoAway() async throws {
        let (client, shutdownBegan) = try await withHTTPSServer { server, certificate in
            // It answers one request, then ignores the PING that comes with GOAWAY: Hummingbird's own grace would
            // never start.
            let client = try await HTTP2TestConnection.connect(
                port: server.port, trusting: certificate, answersPings: false)
            try await client.send([HTTP2TestConnection.request(1, "GET", "/health", ends: true)])
            #expect(await client.wait(within: .seconds(5)) { client.status(on: 1) == 200 })
            return (client, ContinuousClock.now)
        }
        defer { client.close() }
        let shutdown = ContinuousClock.now - shutdownBegan
        #expect(client.wentAway && client.isClosed)
        // The grace, not the stall deadline (10 s), nor never.
        #expect(shutdown < .seconds(Int64(Limits.http2GracefulCloseSecondsMax) + 3), "\(shutdown)")
    }

    @Test("over HTTP/2 a kept answer past the cap fails its stream alone: the connection carries the next request")
    func http2KeptAnswerCap() async throws {
        try await withHTTPSServer { server, certificate in
            let target = try LoadTarget(
                parsing: "https://127.0.0.1:\(server.port)", tls: TLSOptions(caFile: certificate),
                http: HTTPOptions(version: .http2, answerBytesKeptMax: 4_096))
            let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
            let connection = try await HTTPClientConnection.connect(to: target, on: eventLoop).get()
            defer { connection.close() }
            #expect(connection.isMultiplexed)
            // The OpenAPI document (about 70 KB), kept: past the cap of 4 KiB. Twice, so that the connection's window
            // has to be given back for the bytes of the first, reset stream.
            for _ in 0..<2 {
                let document = LoadRequest(endpoint: "openapi", method: .GET, path: "/openapi.json")
                await #expect {
                    try await eventLoop.flatSubmit { connection.send(document, timeouts: .init(), keepBody: true) }
                        .get()
                } throws: { ($0 as? LoadError)?.detail.hasPrefix("the answer is larger than 4.0 KiB") == true }
                // Counted, not kept, it passes.
                let counted = try await eventLoop.flatSubmit { connection.send(document, timeouts: .init()) }.get()
                #expect(counted.status == 200 && counted.bodyByteCount > 4_096 && counted.body.readableBytes == 0)
            }
        }
    }
}

/// Runs `body` against a live HTTPS server (configured as `configure` says) with a certificate made for the test;
/// `body` gets the server and the certificate's path, to trust.
private func withHTTPSServer<Result: Sendable>(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (LiveServer, String) async throws -> Result
) async throws -> Result {
    let folder = try temporaryFolder("tls")
    defer { try? FileManager.default.removeItem(at: folder) }
    let (paths, tls) = try TestCertificate.make(in: folder)
    return try await LiveServer.with(tls: tls, configure: configure) { server in
        try await body(server, paths.certificate)
    }
}

/// The status of one request over HTTPS, on a connection of its own, trusting `certificate`.
private func send(_ request: HTTPTestRequest, toTLS port: Int, trusting certificate: String) async throws -> Int {
    let target = try LoadTarget(
        parsing: "https://127.0.0.1:\(port)", tls: TLSOptions(caFile: certificate), http: HTTPOptions(version: .http1))
    let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
    let connection = try await HTTPClientConnection.connect(to: target, on: eventLoop).get()
    defer { connection.close() }
    let load = LoadRequest(endpoint: "health", method: request.method, path: request.path)
    return try await eventLoop.flatSubmit { connection.send(load, timeouts: .init()) }.get().status
}
