import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileCore
import TurnstileLoad
import TurnstileTestSupport

@testable import turnstile

/// `turnstile serve` in a process of its own, so that its open handles can be counted from `/proc`, against clients
/// that misbehave.
@Suite("turnstile serve under hostile clients", .serialized, .timeLimit(.minutes(1)))
struct HostileClientTests {
    @Test("subscribers that drop their sockets without a close frame leave, handles and all, with nothing published")
    func droppedSubscribers() async throws {
        try await Self.withService(openFiles: 4_096, ["--password-hash-rounds", "1"]) { service in
            try await dropSubscribers(service)
        }
    }

    private func dropSubscribers(_ service: ChildService) async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(service.port)")
        let user = try await SuiteContext(target: target).provision(1)[0]
        let item = try await send(
            .json(
                .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                token: user.token), to: service.port)
        let itemID = try #require(item.json["id"] as? Int)

        /// Subscribes `count` clients, checks they are counted, then drops them all without a word (the TCP
        /// connection closes, no WebSocket close frame is sent) and waits (5 s at most) until none is counted.
        func subscribeAndDrop(_ count: Int) async throws -> Int {
            var clients: [LiveFeedClient] = []
            for _ in 0..<count {
                clients.append(
                    try await LiveFeedClient.subscribe(
                        to: target, path: "/api/v1/items/\(itemID)/live",
                        on: MultiThreadedEventLoopGroup.singleton.next()
                    ) { _ in })
            }
            #expect(try await Self.subscribers(port: service.port) == count)
            for client in clients { try await client.channel.close() }
            let deadline = ContinuousClock.now + .seconds(5)
            var subscribers = count
            while subscribers > 0, ContinuousClock.now < deadline {
                subscribers = try await Self.subscribers(port: service.port)
                if subscribers > 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
            return subscribers
        }
        // A first round warms the service up (its event loops make some handles of their own on first use).
        #expect(try await subscribeAndDrop(4) == 0)
        let handlesBefore = try Self.openHandles(of: service.process.processIdentifier)
        let subscribers = try await subscribeAndDrop(50)
        // Then the handles, without opening connections of our own meanwhile (the polls' close as they go). A few
        // handles of the service's own may come and go on a busy machine; 50 leaked sockets may not.
        let slack = 5
        let deadline = ContinuousClock.now + .seconds(5)
        var handles = Int.max
        while handles > handlesBefore + slack, ContinuousClock.now < deadline {
            handles = try Self.openHandles(of: service.process.processIdentifier)
            if handles > handlesBefore + slack { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(subscribers == 0)
        #expect(
            handles <= handlesBefore + slack, "\(handles) open handles, \(handlesBefore) before the subscribers came")
    }

    @Test("one client flooding connections gets its share; the rest are closed and counted, /health answers")
    func perClientFlood() async throws {
        try await Self.withService(openFiles: 512, ["--max-connections-per-client", "100"]) { service in
            // The flood comes from 127.0.0.2, so that this test's own requests (from 127.0.0.1) are another client.
            let flood = try await Flood.open(300, from: "127.0.0.2", to: service.port)
            defer { flood.close() }
            #expect(try await flood.waitUntilClosed(200) == 200, "the server closes what is past the share")
            #expect(
                try await Self.health(port: service.port)
                    == .answered(status: 200, contentType: "application/json; charset=utf-8"))
            #expect(try await Self.metric("turnstile_connections_refused_total", port: service.port) == 200)
            #expect(try await Self.metric("turnstile_connections_open", port: service.port) ?? 0 >= 100)
            #expect(service.process.isRunning)
        }
    }

    @Test("at its cap, under its open-file limit, the server stops accepting, stays up, and serves again after")
    func globalCap() async throws {
        // 256 open files: the gate keeps 128 for the store and the logs, so 128 connections at most.
        try await Self.withService(openFiles: 256, ["--max-connections-per-client", "100"]) { service in
            let floods = [
                try await Flood.open(100, from: "127.0.0.2", to: service.port),
                try await Flood.open(100, from: "127.0.0.3", to: service.port),
            ]
            #expect(service.process.isRunning)
            for flood in floods { flood.close() }
            // Once the flood has gone, the next request is served.
            #expect(
                try await Self.health(port: service.port)
                    == .answered(status: 200, contentType: "application/json; charset=utf-8"))
            #expect(try await Self.metric("turnstile_connections_deferred_total", port: service.port) ?? 0 > 0)
            #expect(service.process.isRunning)
        }
    }

    @Test("the engine waits out a target's short 429s during set-up, and the race is still exact")
    func rateLimitedSetUp() async throws {
        // 10 sign-ups and logins a second from one address: 20 buyers need 40, so most wait for their Retry-After.
        try await Self.withService(
            openFiles: 4_096, ["--auth-rate-limit", "10/s", "--password-hash-rounds", "1"]
        ) { service in
            let (status, output) = try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(service.port)", "-c", "20", "--capacity", "5",
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("Result: PASS"))
        }
    }

    @Test("HTTP/2 clients that never read: every connection is closed, the service's memory stays bounded, /health")
    func http2ClientsThatNeverRead() async throws {
        let folder = try temporaryFolder("h2-readers")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, _) = try TestCertificate.make(in: folder)
        let service = try await ChildService.launch(
            TurnstileProcess.executable,
            [
                "serve", "--port", "0", "--log-level", "critical", "--database",
                folder.appendingPathComponent("t.sqlite").path, "--tls-cert", paths.certificate, "--tls-key", paths.key,
            ])
        defer { if service.process.isRunning { service.process.interrupt() } }
        let pid = service.process.processIdentifier
        let before = try Self.memory("VmRSS", of: pid)
        // Forty connections, each asking for a hundred copies of the largest answer with a window of zero: about
        // 10 MB held per connection, for ever, before the bound.
        var clients: [HTTP2TestConnection] = []
        for _ in 0..<40 {
            let client = try await HTTP2TestConnection.connect(
                port: service.port, trusting: paths.certificate, initialWindowSize: 0)
            try await client.send(
                stride(from: 1, through: 199, by: 2).map {
                    HTTP2TestConnection.request($0, "GET", "/openapi.json", ends: true)
                })
            clients.append(client)
        }
        for client in clients {
            #expect(await client.wait(within: .seconds(Int64(Limits.http2StalledSecondsMax) + 5)) { client.isClosed })
        }
        let peak = try Self.memory("VmHWM", of: pid)
        #expect(peak - before < 192 << 20, "resident \(before >> 20) MiB before, peak \(peak >> 20) MiB")
        let target = try LoadTarget(
            parsing: "https://127.0.0.1:\(service.port)", tls: TLSOptions(caFile: paths.certificate))
        let connection = try await HTTPClientConnection.connect(
            to: target, on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        defer { connection.close() }
        let health = try await connection.eventLoop.flatSubmit {
            connection.send(LoadRequest(endpoint: "health", method: .GET, path: "/health"), timeouts: .init())
        }.get()
        #expect(health.status == 200)
    }

    /// A memory figure of process `pid` from `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
    private static func memory(_ field: String, of pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Runs `turnstile serve` with at most `openFiles` open files (soft and hard), and `body` against it.
    private static func withService(
        openFiles: Int, _ arguments: [String], _ body: (ChildService) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let command =
            [
                "exec", TurnstileProcess.executable.path, "serve", "--port", "0", "--database",
                directory.appendingPathComponent("t.sqlite").path, "--log-level", "critical",
            ] + arguments
        let service = try await ChildService.launch(
            URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -n \(openFiles) && " + command.joined(separator: " ")])
        defer { if service.process.isRunning { service.process.interrupt() } }
        try await body(service)
    }

    /// `GET /health` on a connection of its own that the server closes after answering; a hang gives up after a
    /// second.
    private static func health(port: Int) async throws -> RawExchange.Outcome {
        await RawExchange.send(
            Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8),
            to: try LoadTarget(parsing: "http://127.0.0.1:\(port)"), on: MultiThreadedEventLoopGroup.singleton.next(),
            timeout: .seconds(1))
    }

    /// One sample of the service's `/metrics`.
    private static func metric(_ name: String, port: Int) async throws -> Double? {
        let metrics = try await send(.init(.GET, "/metrics"), to: port)
        let line = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// How many files (sockets included) process `pid` holds open.
    private static func openHandles(of pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// The service's live-subscriber gauge.
    private static func subscribers(port: Int) async throws -> Int {
        Int(try await metric("turnstile_live_subscribers", port: port) ?? -1)
    }
}

/// Idle TCP connections held open from one source address, as a flooding client holds them.
private struct Flood {
    let channels: [any Channel]

    /// Opens `count` connections from `source` to 127.0.0.1:`port`.
    static func open(_ count: Int, from source: String, to port: Int) async throws -> Flood {
        var channels: [any Channel] = []
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
        for _ in 0..<count {
            let channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
            channels.append(channel)
        }
        return Flood(channels: channels)
    }

    /// How many of the connections the server closed, waiting up to 5 s for `expected` of them.
    func waitUntilClosed(_ expected: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(5)
        var count = 0
        while ContinuousClock.now < deadline {
            count = channels.filter { !$0.isActive }.count
            if count >= expected { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return count
    }

    func close() {
        for channel in channels { channel.close(promise: nil) }
    }

}
