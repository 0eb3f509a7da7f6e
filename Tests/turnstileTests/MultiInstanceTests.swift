import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Testing
import TurnstileLoad
import TurnstileStore
import TurnstileTestSupport

@testable import turnstile

/// Two `turnstile serve` processes on one PostgreSQL database, with requests split across both and released at once:
/// the books stay exact across instances.
@Suite(
    "Two instances on one PostgreSQL", .serialized, .timeLimit(.minutes(2)),
    .enabled(
        if: PostgresTestDatabase.url != nil,
        "TURNSTILE_POSTGRES_URL is not set: the multi-instance tests are skipped"))
struct MultiInstanceTests {
    @Test("300 buyers split across two instances for 299 seats: exactly 299 × 201 and one 409, 0 left")
    func seatsAcrossInstances() async throws {
        try await withTwoInstances { ports, _ in
            let users = try await Self.provision(300, on: ports[0])
            let organizer = users[0]
            let created = try await send(
                .json(
                    .POST, "/api/v1/events/", ["title": "Split", "date": "2027-01-01T20:00:00Z", "seat_count": 299],
                    token: organizer.token), to: ports[1])
            let eventID = try #require(created.json["id"] as? Int)
            let responses = try await Self.race(
                users.enumerated().map { index, user in
                    (
                        ports[index % 2],
                        .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: user.token)
                    )
                })
            #expect(responses.filter { $0.status == 201 }.count == 299)
            #expect(responses.filter { $0.status == 409 }.count == 1)
            for port in ports {
                let event = try await send(.init(.GET, "/api/v1/events/\(eventID)"), to: port)
                #expect(event.json["available_seats"] as? Int == 0)
            }
        }
    }

    @Test("50 deductions of 5 from 100, split across two instances: exactly 20 × 200 and 30 × 402, balance 0")
    func creditsAcrossInstances() async throws {
        try await withTwoInstances { ports, _ in
            let user = try #require(try await Self.provision(1, on: ports[0]).first)
            let topUp = try await send(
                .json(.POST, "/api/v1/credits/topup", ["amount": 100], token: user.token), to: ports[1])
            #expect(topUp.status == 200)
            let responses = try await Self.race(
                (0..<50).map { index in
                    (
                        ports[index % 2],
                        .json(.POST, "/api/v1/credits/deduct", ["amount": 5, "reason": "split"], token: user.token)
                    )
                })
            #expect(responses.filter { $0.status == 200 }.count == 20)
            #expect(responses.filter { $0.status == 402 }.count == 30)
            let auth = [("Authorization", "Bearer \(user.token)")]
            let balance = try await send(.init(.GET, "/api/v1/credits/balance", headers: auth), to: ports[0])
            let ledger = try await send(.init(.GET, "/api/v1/credits/transactions", headers: auth), to: ports[1])
            let amounts = (ledger.json["transactions"] as? [[String: Any]])?.compactMap { $0["amount"] as? Int } ?? []
            #expect(balance.json["balance"] as? Int == 0)
            #expect(amounts.count == 21 && amounts.reduce(0, +) == 0)
        }
    }

    @Test("60 bidders split across two instances: accepted bids strictly increase and are numbered 1…n")
    func bidsAcrossInstances() async throws {
        try await withTwoInstances { ports, _ in
            // Sixty bidders, and a seller of their own (a seller may not bid on their own item).
            let provisioned = try await Self.provision(61, on: ports[0])
            let users = Array(provisioned.prefix(60))
            let created = try await send(
                .json(
                    .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                    token: provisioned[60].token), to: ports[1])
            let itemID = try #require(created.json["id"] as? Int)
            let responses = try await Self.race(
                users.enumerated().map { index, user in
                    (
                        ports[index % 2],
                        .json(
                            .POST, "/api/v1/items/\(itemID)/bids", ["amount_cents": 100 + index * 7], token: user.token)
                    )
                })
            let accepted = responses.filter { $0.status == 201 }
            #expect(responses.allSatisfy { $0.status == 201 || $0.status == 409 })
            let stored = try await send(.init(.GET, "/api/v1/items/\(itemID)/bids"), to: ports[0])
            let bids = (stored.json["bids"] as? [[String: Any]]) ?? []
            let amounts = bids.compactMap { $0["amount_cents"] as? Int }
            #expect(!accepted.isEmpty && bids.count == accepted.count)
            #expect(zip(amounts, amounts.dropFirst()).allSatisfy { $0 + 10 <= $1 })
            #expect(bids.compactMap { $0["seq"] as? Int } == Array(1..<(bids.count + 1)))
        }
    }

    @Test("a WebSocket subscriber on one instance receives, in order, every bid accepted on the other")
    func liveFeedAcrossInstances() async throws {
        try await withTwoInstances { ports, _ in
            let users = try await Self.provision(2, on: ports[0])
            let created = try await send(
                .json(
                    .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                    token: users[0].token), to: ports[0])
            let itemID = try #require(created.json["id"] as? Int)
            let (events, continuation) = AsyncStream.makeStream(of: LiveFeedEvent.self)
            let feed = try await LiveFeedClient.subscribe(
                to: try LoadTarget(parsing: "http://127.0.0.1:\(ports[1])"), path: "/api/v1/items/\(itemID)/live",
                on: MultiThreadedEventLoopGroup.singleton.next()
            ) { continuation.yield($0) }
            defer { feed.close() }
            for amount in [100, 150, 200, 250, 300] {
                let bid = try await send(
                    .json(.POST, "/api/v1/items/\(itemID)/bids", ["amount_cents": amount], token: users[1].token),
                    to: ports[0])
                #expect(bid.status == 201)
            }
            var received: [[String: Any]] = []
            for await event in events {
                guard case .message(let message, _) = event else { break }
                let object = try JSONSerialization.jsonObject(with: Data(message.readableBytesView))
                guard let bid = object as? [String: Any], bid["type"] as? String == "bid" else { continue }
                received.append(bid)
                if received.count == 5 { break }
            }
            #expect(received.compactMap { $0["seq"] as? Int } == [1, 2, 3, 4, 5])
            #expect(received.compactMap { $0["amount_cents"] as? Int } == [100, 150, 200, 250, 300])
        }
    }

    @Test("an instance that loses its LISTEN closes its feeds with 1013; listening again, it relays the other's bids")
    func lostListenClosesFeeds() async throws {
        try await withTwoInstances { ports, url in
            let users = try await Self.provision(2, on: ports[0])
            let created = try await send(
                .json(
                    .POST, "/api/v1/items/", ["title": "Vase", "starting_price_cents": 100, "min_increment_cents": 10],
                    token: users[0].token), to: ports[0])
            let path = "/api/v1/items/\(try #require(created.json["id"] as? Int))/live"
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(ports[1])")
            let (events, continuation) = AsyncStream.makeStream(of: LiveFeedEvent.self)
            let feed = try await LiveFeedClient.subscribe(
                to: target, path: path, on: MultiThreadedEventLoopGroup.singleton.next()
            ) { continuation.yield($0) }
            defer { feed.close() }

            // A real loss: the database ends the instances' LISTEN connections. Changes sent until they listen again
            // would never reach this subscriber, so it is told to reconnect rather than left with a gap.
            try await PostgresTestDatabase.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    + "WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
                url: url)
            var closing: (code: WebSocketErrorCode?, reason: String)?
            for await event in events {
                guard case .closed(let code, let reason) = event else { continue }
                closing = (code, reason)
                break
            }
            #expect(closing?.code == .unknown(1013), "\(String(describing: closing))")
            #expect(closing?.reason.contains("reconnect") == true)

            // /ready waits (within the store's bound) until the instance listens again; a new subscriber then hears
            // every bid accepted on the other instance.
            #expect(try await send(.init(.GET, "/ready"), to: ports[1]).status == 200)
            let (again, againContinuation) = AsyncStream.makeStream(of: LiveFeedEvent.self)
            let reconnected = try await LiveFeedClient.subscribe(
                to: target, path: path, on: MultiThreadedEventLoopGroup.singleton.next()
            ) { againContinuation.yield($0) }
            defer { reconnected.close() }
            let bid = try await send(
                .json(.POST, "\(path.dropLast(5))/bids", ["amount_cents": 500], token: users[1].token), to: ports[0])
            #expect(bid.status == 201)
            var heard: [String: Any]?
            for await event in again {
                guard case .message(let message, _) = event else { break }
                let object = try JSONSerialization.jsonObject(with: Data(message.readableBytesView)) as? [String: Any]
                if object?["type"] as? String == "bid" {
                    heard = object
                    break
                }
            }
            #expect(heard?["amount_cents"] as? Int == 500)
        }
    }

    /// Two `turnstile serve` processes on one fresh database (its URL given to `body` too), sharing a JWT secret;
    /// stopped with SIGTERM afterwards, which must end each with status 0.
    private func withTwoInstances(_ body: ([Int], String) async throws -> Void) async throws {
        try await PostgresTestDatabase.withFresh { url in
            var processes: [Process] = []
            defer { for process in processes where process.isRunning { process.interrupt() } }
            var ports: [Int] = []
            for _ in 0..<2 {
                let service = try await ChildService.launch(
                    TurnstileProcess.executable,
                    [
                        "serve", "--port", "0", "--database", url, "--jwt-secret", String(repeating: "s", count: 32),
                        "--password-hash-rounds", "1", "--log-level", "error", "--pool-size", "8",
                        "--auth-rate-limit", "off",
                    ] + StoreTimeouts.patientArguments)
                processes.append(service.process)
                ports.append(service.port)
            }
            try await body(ports, url)
            for process in processes {
                process.terminate()
                await ChildService.waitForExit(process)
                #expect(process.terminationReason == .exit && process.terminationStatus == 0)
            }
        }
    }

    private static func provision(_ count: Int, on port: Int) async throws -> [VirtualUser] {
        try await SuiteContext(target: try LoadTarget(parsing: "http://127.0.0.1:\(port)")).provision(count)
    }

    /// Prepares every request on its own connection to its port, releases all their last bytes together, and
    /// gathers the responses in order.
    private static func race(_ requests: [(port: Int, request: HTTPTestRequest)]) async throws -> [HTTPTestResponse] {
        let exchanges = try await withThrowingTaskGroup(of: (Int, PreparedExchange).self) { group in
            for (index, (port, request)) in requests.enumerated() {
                group.addTask { (index, try await PreparedExchange.prepare(request, to: port)) }
            }
            var exchanges = [PreparedExchange?](repeating: nil, count: requests.count)
            for try await (index, exchange) in group { exchanges[index] = exchange }
            return exchanges.map { $0! }
        }
        for exchange in exchanges { exchange.release() }
        var responses: [HTTPTestResponse] = []
        for exchange in exchanges { responses.append(try await exchange.response()) }
        return responses
    }
}
