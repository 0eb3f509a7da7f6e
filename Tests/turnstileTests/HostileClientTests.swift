import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileLoad
import TurnstileTestSupport

@testable import turnstile

/// `turnstile serve` in a process of its own, so that its open handles can be counted from `/proc`, against clients
/// that misbehave.
@Suite("turnstile serve under hostile clients", .serialized, .timeLimit(.minutes(1)))
struct HostileClientTests {
    @Test("subscribers that drop their sockets without a close frame leave, handles and all, with nothing published")
    func droppedSubscribers() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try await ChildService.launch(
            TurnstileProcess.executable,
            [
                "serve", "--port", "0", "--database", directory.appendingPathComponent("t.sqlite").path,
                "--password-hash-rounds", "1", "--log-level", "critical",
            ])
        defer { if service.process.isRunning { service.process.interrupt() } }
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(service.port)")
        let user = try await Provisioner(target: target, group: MultiThreadedEventLoopGroup.singleton).provision(1)[0]
        let item = try await send(
            .json(
                .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                token: user.token), to: service.port)
        let itemID = try #require(item.json["id"] as? Int)

        let handlesBefore = try Self.openHandles(of: service.process.processIdentifier)
        var clients: [LiveFeedClient] = []
        for _ in 0..<50 {
            clients.append(
                try await LiveFeedClient.subscribe(
                    to: target, path: "/api/v1/items/\(itemID)/live", on: MultiThreadedEventLoopGroup.singleton.next()
                ) { _ in })
        }
        #expect(try await Self.subscribers(port: service.port) == 50)
        // Gone without a word: the TCP connection closes, no WebSocket close frame is sent.
        for client in clients { try await client.channel.close() }

        let deadline = ContinuousClock.now + .seconds(5)
        var subscribers = 50
        var handles = Int.max
        while ContinuousClock.now < deadline {
            subscribers = try await Self.subscribers(port: service.port)
            handles = try Self.openHandles(of: service.process.processIdentifier)
            if subscribers == 0, handles <= handlesBefore { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(subscribers == 0)
        #expect(handles <= handlesBefore, "\(handles) open handles, \(handlesBefore) before the subscribers came")
    }

    /// The service's live-subscriber gauge.
    private static func subscribers(port: Int) async throws -> Int {
        let metrics = try await send(.init(.GET, "/metrics"), to: port)
        let line = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("turnstile_live_subscribers ") }
        return Int(Double(line?.split(separator: " ").last ?? "") ?? -1)
    }

    /// How many files (sockets included) process `pid` holds open.
    private static func openHandles(of pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }
}
