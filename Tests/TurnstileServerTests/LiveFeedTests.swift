import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing
import TurnstileLoad
import TurnstileTestSupport

/// The live feeds over real WebSockets, against a live server on 127.0.0.1.
@Suite("Live feeds", .timeLimit(.minutes(1)))
struct LiveFeedTests {
    @Test("every subscriber receives every accepted bid, in order, numbered by seq")
    func everySubscriberEveryBid() async throws {
        try await LiveServer.with { server in
            // Thirty bidders, and a seller of their own (a seller may not bid on their own item).
            let provisioned = try await server.provisionUsers(31)
            let users = Array(provisioned.prefix(30))
            let itemID = try await createItem(on: server, token: provisioned[30].token)
            let subscribers = try await (0..<20).asyncMap { _ in
                try await Subscriber.open(port: server.port, path: "/api/v1/items/\(itemID)/live")
            }
            // Thirty bidders at once, each a different amount: the server decides which are accepted.
            let responses = try await server.race(
                users.enumerated().map { index, user in
                    .json(.POST, "/api/v1/items/\(itemID)/bids", ["amount_cents": 100 + index * 13], token: user.token)
                })
            let acceptedCount = responses.filter { $0.status == 201 }.count
            let stored = try await server.send(.init(.GET, "/api/v1/items/\(itemID)/bids"))
            let storedBids = try #require(stored.json["bids"] as? [[String: Any]])
            let expected = storedBids.map { Delivered(seq: $0["seq"] as? Int, amount: $0["amount_cents"] as? Int) }
            #expect(expected.count == acceptedCount)

            for subscriber in subscribers {
                let received = try await subscriber.messages(count: acceptedCount + 1)
                #expect(received.first?["type"] as? String == "subscribed")
                let bids = received.dropFirst().map {
                    Delivered(seq: $0["seq"] as? Int, amount: $0["amount_cents"] as? Int)
                }
                #expect(bids == expected)
                subscriber.client.close()
            }
        }
    }

    @Test("an event's feed announces availability changes and waitlist offers")
    func eventFeed() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(2)
            let eventID = try await server.createEvent(seats: 2, organizer: users[0])
            let subscriber = try await Subscriber.open(port: server.port, path: "/api/v1/events/\(eventID)/live")
            let booked = try await server.send(
                .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 2], token: users[0].token))
            let waitlisted = try await server.send(
                .json(
                    .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "waitlist": true],
                    token: users[1].token))
            #expect(booked.status == 201 && waitlisted.status == 202)
            let bookingID = try #require(booked.json["id"] as? Int)
            let cancelled = try await server.send(
                .init(
                    .DELETE, "/api/v1/bookings/\(bookingID)", headers: [("Authorization", "Bearer \(users[0].token)")]))
            #expect(cancelled.status == 200)

            // Booking takes both seats; the cancellation frees them, the waitlisted request is offered one as a
            // hold, and the availability after that offer follows it.
            let messages = try await subscriber.messages(count: 4)
            #expect(
                messages.map { $0["type"] as? String } == [
                    "subscribed", "availability", "waitlist_offer", "availability",
                ])
            #expect(messages.dropFirst().map { $0["seq"] as? Int } == [1, 2, 3])
            #expect(messages[1]["available_seats"] as? Int == 0)
            let offer = messages[2]
            #expect(offer["user_id"] as? Int == Int(users[1].id))
            #expect(offer["seat_count"] as? Int == 1)
            #expect(offer["waitlist_position"] as? Int == 1)
            #expect(offer["status"] as? String == "held" && offer["expires_at"] is String)
            #expect(messages[3]["available_seats"] as? Int == 1)
        }
    }

    @Test(
        "unknown ids are refused before the upgrade with a 404 problem; a plain request to a feed gets 426; an Upgrade header elsewhere is ignored"
    )
    func refusals() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(1)
            let itemID = try await createItem(on: server, token: users[0].token)
            let upgradeHeaders = [
                ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ]
            for path in ["/api/v1/items/999999/live", "/api/v1/events/999999/live"] {
                let refused = try await server.send(.init(.GET, path, headers: upgradeHeaders))
                #expect(refused.status == 404)
                #expect(refused.json["code"] as? String == "not_found")
            }
            // Anything but a feed's path is served as if it asked for nothing: its Upgrade header is ignored.
            let malformed = try await server.send(.init(.GET, "/api/v1/items/abc/live", headers: upgradeHeaders))
            #expect((400..<500).contains(malformed.status))
            #expect(malformed.json["field"] as? String == "id")
            let health = try await server.send(.init(.GET, "/health", headers: upgradeHeaders))
            #expect(health.status == 200)
            let h2c = try await server.send(
                .init(
                    .GET, "/api/v1/items/\(itemID)",
                    headers: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")]))
            #expect(h2c.status == 200 && h2c.json["id"] as? Int == itemID)
            let keyless = try await server.send(
                .init(
                    .GET, "/api/v1/items/\(itemID)/live",
                    headers: [("Connection", "Upgrade"), ("Upgrade", "websocket")]))
            #expect(keyless.status == 400)
            #expect(keyless.json["code"] as? String == "bad_request")
            let plain = try await server.send(.init(.GET, "/api/v1/items/\(itemID)/live"))
            #expect(plain.status == 426)
            #expect(plain.json["code"] as? String == "upgrade_required")
            await #expect(throws: LoadError.self) {
                _ = try await Subscriber.open(port: server.port, path: "/api/v1/items/999999/live")
            }
        }
    }

    @Test("a client's close is echoed and the server closes the TCP connection at once (RFC 6455 §7.1.1)")
    func closeHandshakeEndsAtOnce() async throws {
        try await LiveServer.with { server in
            let seller = try await server.provisionUsers(1)[0]
            let itemID = try await createItem(on: server, token: seller.token)
            let received = AsyncStream.makeStream(of: ByteBuffer.self)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteStream(received.continuation))
                    }
                }
                .connect(host: "127.0.0.1", port: server.port).get()
            try await channel.writeAndFlush(
                ByteBuffer(
                    string: "GET /api/v1/items/\(itemID)/live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\n")
            ).get()
            // The upgrade and the `subscribed` message.
            var seen = ""
            for await bytes in received.stream {
                seen += String(buffer: bytes)
                if seen.contains("subscribed") { break }
            }
            #expect(seen.hasPrefix("HTTP/1.1 101"), "\(seen)")
            // A masked close frame, code 1000.
            let started = ContinuousClock.now
            try await channel.writeAndFlush(ByteBuffer(bytes: [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2])).get()
            try await channel.closeFuture.get()
            let elapsed = ContinuousClock.now - started
            // The server used to keep the connection 2 s after its echo, waiting for the client to close first; it
            // closes at once now (a few milliseconds here), and the bound leaves room for a machine busy with other
            // tests.
            #expect(elapsed < .seconds(1), "\(elapsed)")
        }
    }

    @Test("a graceful shutdown closes every feed with 1001 and does not wait for idle connections")
    func shutdownClosesFeeds() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(1)
            let itemID = try await createItem(on: server, token: users[0].token)
            let subscriber = try await Subscriber.open(port: server.port, path: "/api/v1/items/\(itemID)/live")
            // A connection that never sends its first request must not hold the shutdown up.
            let idle = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: server.port).get()
            let started = ContinuousClock.now
            await server.shutDown()
            #expect(ContinuousClock.now - started < .seconds(Int64(10)))
            let ending = try await subscriber.end()
            #expect(ending == .goingAway)
            try await idle.closeFuture.get()
        }
    }

    @Test("GET /metrics counts requests by route template, write batches, and live subscribers as they come and go")
    func metrics() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(2)
            let itemID = try await createItem(on: server, token: users[0].token)
            for _ in 0..<3 { _ = try await server.send(.init(.GET, "/api/v1/items/\(itemID)")) }
            _ = try await server.send(.init(.GET, "/api/v1/items/999999"))
            let feeds = try await (0..<3).asyncMap { _ in
                try await Subscriber.open(port: server.port, path: "/api/v1/items/\(itemID)/live")
            }
            let connected = try await Self.metrics(of: server)
            #expect(connected["turnstile_live_subscribers"] == 3)
            #expect(
                connected[#"turnstile_http_requests_total{route="/api/v1/items/{id}",method="GET",status="200"}"#] == 3)
            #expect(
                connected[#"turnstile_http_requests_total{route="/api/v1/items/{id}",method="GET",status="404"}"#] == 1)
            #expect(
                connected[#"turnstile_http_request_duration_seconds_count{route="/api/v1/items/{id}",method="GET"}"#]
                    == 4)
            // Two registrations and an item: three writes, however they were batched.
            #expect(connected["turnstile_write_batch_writes_sum"] == 3)
            #expect(connected[#"turnstile_store_errors_total{operation="request"}"#] == 0)

            // A client that closes is out of the hub by the time the server's close answer reaches it.
            for feed in feeds {
                feed.client.close()
                #expect(try await feed.end() == .normalClosure)
            }
            #expect(try await Self.metrics(of: server)["turnstile_live_subscribers"] == 0)
        }
    }

    /// Every sample of `GET /metrics`, by its name and labels as written.
    private static func metrics(of server: LiveServer) async throws -> [String: Double] {
        let response = try await server.send(.init(.GET, "/metrics"))
        #expect(response.status == 200)
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        var samples: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    private func createItem(on server: LiveServer, token: String) async throws -> Int {
        let created = try await server.send(
            .json(
                .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                token: token))
        return try #require(created.json["id"] as? Int)
    }
}

/// Hands every byte a raw connection reads to a stream, and ends it when the connection closes.
private final class ByteStream: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<ByteBuffer>.Continuation

    init(_ continuation: AsyncStream<ByteBuffer>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
    }
}

/// One delivered bid, as the test compares them.
private struct Delivered: Equatable {
    let seq: Int?
    let amount: Int?
}

/// A live-feed subscriber that keeps what it receives in a stream for the test to read.
private struct Subscriber {
    let client: LiveFeedClient
    let events: AsyncStream<LiveFeedEvent>

    static func open(port: Int, path: String) async throws -> Subscriber {
        let (events, continuation) = AsyncStream.makeStream(of: LiveFeedEvent.self)
        let client = try await LiveFeedClient.subscribe(
            to: try LoadTarget(parsing: "http://127.0.0.1:\(port)"), path: path,
            on: MultiThreadedEventLoopGroup.singleton.next()
        ) { event in
            continuation.yield(event)
            if case .closed = event { continuation.finish() }
        }
        return Subscriber(client: client, events: events)
    }

    /// The first `count` messages, decoded; throws if the feed closes first.
    func messages(count: Int) async throws -> [[String: Any]] {
        var messages: [[String: Any]] = []
        for await event in events {
            guard case .message(let buffer, _) = event else { break }
            let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
            messages.append(try #require(object as? [String: Any]))
            if messages.count == count { return messages }
        }
        throw FeedClosedEarly(received: messages.count)
    }

    /// Reads to the end of the feed and returns the close code the server sent.
    func end() async throws -> WebSocketErrorCode? {
        for await event in events {
            if case .closed(let code, _) = event { return code }
        }
        throw FeedClosedEarly(received: 0)
    }
}

private struct FeedClosedEarly: Error {
    let received: Int
}

extension Sequence {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
