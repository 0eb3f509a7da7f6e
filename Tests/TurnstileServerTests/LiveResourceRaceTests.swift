import NIOHTTP1
import SQLiteNIO
import Testing
import TurnstileTestSupport

/// Races on stock, credits and bids: real concurrent clients, each with their own token, against a live server on a
/// real SQLite file, released together; the file is read back afterwards.
@Suite("Live resource races", .serialized, .timeLimit(.minutes(2)))
struct LiveResourceRaceTests {
    @Test("20 buyers, 5 units: exactly 5 × 201 pending orders, 15 × 409 insufficient_stock, stock 0")
    func lastUnits() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(20)
            let created = try await server.send(
                .json(
                    .POST, "/api/v1/products/", ["sku": "DROP-1", "name": "Drop", "price_cents": 999, "stock": 5],
                    token: users[0].token))
            let productID = try #require(created.json["id"] as? Int)
            let responses = try await server.race(
                users.map {
                    .json(.POST, "/api/v1/orders/", ["product_id": productID, "quantity": 1], token: $0.token)
                })
            let statuses = responses.reduce(into: [Int: Int]()) { $0[$1.status, default: 0] += 1 }
            #expect(statuses == [201: 5, 409: 15])
            for response in responses where response.status == 409 {
                #expect(response.json["code"] as? String == "insufficient_stock")
                #expect(response.json["available"] as? Int == 0)
            }
            let stored = try await scalar(
                "SELECT stock + (SELECT COUNT(*) FROM orders WHERE product_id = p.id AND status = 'pending') * 1000 AS v "
                    + "FROM products p WHERE id = ?", productID, in: server.databasePath)
            #expect(stored == 0 + 5 * 1000, "stock 0 and 5 pending orders in the file")
            let product = try await server.send(.init(.GET, "/api/v1/products/\(productID)"))
            #expect(product.json["stock"] as? Int == 0)
        }
    }

    @Test("50 deductions of 5 from a balance of 100 at once: exactly 20 succeed, balance 0, ledger sum = balance")
    func creditDeductions() async throws {
        try await LiveServer.with { server in
            let user = try await server.provisionUser("spender")
            let topUp = try await server.send(
                .json(.POST, "/api/v1/credits/topup", ["amount": 100], token: user.token))
            #expect(topUp.status == 200)
            let responses = try await server.race(
                (0..<50).map { _ in
                    .json(.POST, "/api/v1/credits/deduct", ["amount": 5, "reason": "race"], token: user.token)
                })
            let statuses = responses.reduce(into: [Int: Int]()) { $0[$1.status, default: 0] += 1 }
            #expect(statuses == [200: 20, 402: 30])
            for response in responses where response.status == 402 {
                #expect(response.json["code"] as? String == "insufficient_credits")
                #expect(response.json["balance"] as? Int == 0)
            }
            let balance = try await server.send(
                .init(.GET, "/api/v1/credits/balance", headers: [("Authorization", "Bearer \(user.token)")]))
            #expect(balance.json["balance"] as? Int == 0 && balance.json["used"] as? Int == 100)
            let ledgerSum = try await scalar(
                "SELECT SUM(amount) AS v FROM ledger WHERE user_id = ?", Int(user.id), in: server.databasePath)
            let stored = try await scalar(
                "SELECT balance AS v FROM credit_accounts WHERE user_id = ?", Int(user.id), in: server.databasePath)
            #expect(ledgerSum == 0 && stored == 0)
        }
    }

    @Test("many bidders at once: accepted bids strictly increase, the item's highest is the largest accepted")
    func bidders() async throws {
        try await LiveServer.with { server in
            // Sixty bidders, and a seller of their own (a seller may not bid on their own item).
            let provisioned = try await server.provisionUsers(61)
            let users = Array(provisioned.prefix(60))
            let created = try await server.send(
                .json(
                    .POST, "/api/v1/items/", ["title": "Lamp", "starting_price_cents": 100, "min_increment_cents": 10],
                    token: provisioned[60].token))
            let itemID = try #require(created.json["id"] as? Int)
            // Every bidder offers a different amount, so the order of arrival decides which are accepted.
            let responses = try await server.race(
                users.enumerated().map { index, user in
                    .json(.POST, "/api/v1/items/\(itemID)/bids", ["amount_cents": 100 + index * 7], token: user.token)
                })
            let accepted = responses.filter { $0.status == 201 }
            #expect(!accepted.isEmpty)
            #expect(responses.allSatisfy { $0.status == 201 || $0.json["code"] as? String == "bid_too_low" })
            let bids = try await server.send(.init(.GET, "/api/v1/items/\(itemID)/bids"))
            let stored = try #require(bids.json["bids"] as? [[String: Any]])
            let amounts = stored.compactMap { $0["amount_cents"] as? Int }
            #expect(stored.count == accepted.count)
            #expect(zip(amounts, amounts.dropFirst()).allSatisfy { $0 + 10 <= $1 })
            #expect(stored.compactMap { $0["seq"] as? Int } == Array(1...stored.count))
            let item = try await server.send(.init(.GET, "/api/v1/items/\(itemID)"))
            let largestAccepted = accepted.compactMap { $0.json["amount_cents"] as? Int }.max()
            #expect(item.json["current_bid_cents"] as? Int == largestAccepted)
            #expect(item.json["bid_count"] as? Int == accepted.count)
        }
    }

    /// One integer read from the SQLite file on a connection of the test's own.
    private func scalar(_ sql: String, _ id: Int, in databasePath: String) async throws -> Int? {
        let connection = try await SQLiteConnection.open(storage: .file(path: databasePath))
        defer { Task { try? await connection.close() } }
        return try await connection.query(sql, [.integer(id)]).first?.column("v")?.integer
    }
}
