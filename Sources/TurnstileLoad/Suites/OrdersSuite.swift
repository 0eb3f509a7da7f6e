import Foundation
import NIOCore
import TurnstileReport

/// Stock and orders: the "last item" drop, then orders moving through pay, ship and cancel at once.
///
/// - The drop: `buyers` each order one unit of a product with `stock` units, released at the same instant. Exactly
///   min(buyers, stock) orders are created (201), every other buyer gets 409, and the product's stock afterwards is
///   what it was less the orders stored.
/// - The lifecycle: every user orders `unitsPerOrder` units (the product holds exactly enough), then all orders are
///   paid or cancelled at once, then shipped, paid again (an illegal move) or cancelled at once. Afterwards stock +
///   the units of live orders (pending, paid, shipped) = the initial stock, and every order is in the state its
///   moves lead to.
public struct OrdersSuite: Sendable {
    public struct Drop: Sendable, Equatable {
        public var buyers: Int
        public var stock: Int

        public init(buyers: Int, stock: Int) {
            self.buyers = buyers
            self.stock = stock
        }

        public var name: String { "orders \(buyers)→\(stock)" }
        public var expectedOrders: Int { min(buyers, stock) }
    }

    /// The classic drop: 20 buyers for the last 5 units.
    public static let classicDrop = Drop(buyers: 20, stock: 5)
    /// The endpoint names the drop's statistics use, for thresholds.
    public static let dropEndpoints = ["order"]
    /// The endpoint names the drop's and the lifecycle's statistics use, for thresholds.
    public static let endpoints = ["order", "pay", "ship", "cancel"]
    /// Units each order of the lifecycle run takes.
    static let unitsPerOrder = 2

    public let context: SuiteContext

    public init(_ context: SuiteContext) {
        self.context = context
    }

    /// The drop, on the first `drop.buyers` of `users`.
    public func runDrop(_ drop: Drop, users: [VirtualUser], into report: inout RunReport) async throws {
        context.progress?.note("\(drop.name): \(drop.buyers) buyers, \(drop.stock) units, one each")
        let buyers = Array(users.prefix(drop.buyers))
        let session = context.session()
        let product = try await createProduct(stock: drop.stock, session: session, token: buyers[0].token)
        let (phase, responses) = try await BarrierExecutor(timeouts: context.timeouts).run(
            drop.name, requests: buyers.map { TurnstileAPI.order(productID: product.id, quantity: 1, token: $0.token) },
            target: context.target, group: context.group)
        report.phases.append(phase)
        let seen = Seen(responses)
        try seen.requireCarriedOut(drop.name)
        report.invariants += seen.checks(
            expected: drop.expectedOrders, attempts: drop.buyers, phase: drop.name, noun: "orders")

        let stored = try await liveOrders(of: product.id, users: buyers, session: session)
        let left = try await session.call(
            TurnstileAPI.product(product.id), expecting: 200, as: TurnstileAPI.Product.self)
        report.invariants += [
            .within(
                stored.count, seen.storedRange, phase: drop.name,
                rule: "stored orders = 201s (+ unanswered at most): none lost, no phantom"),
            .equal(
                left.stock, drop.stock - stored.map(\.quantity).reduce(0, +), phase: drop.name,
                rule: "stock left = stock − units ordered"),
            InvariantResult(
                phase: drop.name, rule: "stock left ≥ 0", expected: "≥ 0", actual: String(left.stock),
                passed: left.stock >= 0),
        ]
    }

    /// The lifecycle run on `users`, one order each.
    public func runLifecycle(users: [VirtualUser], into report: inout RunReport) async throws {
        let name = "orders lifecycle ×\(users.count)"
        context.progress?.note("\(name): order, then pay or cancel, then ship, pay or cancel, all at once")
        let session = context.session()
        let initialStock = users.count * Self.unitsPerOrder
        let product = try await createProduct(stock: initialStock, session: session, token: users[0].token)
        let barrier = BarrierExecutor(timeouts: context.timeouts)

        var (phase, responses) = try await barrier.run(
            name,
            requests: users.map {
                TurnstileAPI.order(productID: product.id, quantity: Self.unitsPerOrder, token: $0.token)
            },
            target: context.target, group: context.group)
        let orderIDs: [Int64?] = responses.map { response in
            guard let response = try? response.get(), response.status == 201 else { return nil }
            return try? JSONDecoder().decode(TurnstileAPI.Order.self, from: Data(response.body.readableBytesView)).id
        }
        report.invariants.append(
            .equal(
                orderIDs.compactMap { $0 }.count, users.count, phase: name,
                rule: "every order fits the stock and is created"))

        // Two rounds of moves: each order's moves are fixed by its index, so its final state is known.
        for round in Self.moves.indices {
            let requests = zip(users, orderIDs).enumerated().compactMap { index, pair -> LoadRequest? in
                guard let orderID = pair.1 else { return nil }
                let action = Self.moves[round][index % Self.moves[round].count]
                return TurnstileAPI.advance(orderID: orderID, action: action, token: pair.0.token)
            }
            let (movePhase, _) = try await barrier.run(
                name, requests: requests, target: context.target, group: context.group)
            phase.add(movePhase)
        }
        report.phases.append(phase)

        let stored = try await liveOrders(of: product.id, users: users, session: session, includingCancelled: true)
        let left = try await session.call(
            TurnstileAPI.product(product.id), expecting: 200, as: TurnstileAPI.Product.self)
        let liveUnits = stored.filter { $0.status != "cancelled" }.map(\.quantity).reduce(0, +)
        let expectedStatuses = Dictionary(
            grouping: orderIDs.indices.filter { orderIDs[$0] != nil }, by: { Self.finalStatus(ofOrderAt: $0) }
        ).mapValues(\.count)
        let statuses = Dictionary(grouping: stored, by: \.status).mapValues(\.count)
        report.invariants += [
            .equal(left.stock + liveUnits, initialStock, phase: name, rule: "stock + units in live orders = initial"),
            .equal(
                Self.describe(statuses), Self.describe(expectedStatuses), phase: name,
                rule: "every order ends where its moves lead (paying a cancelled order is refused)"),
        ]
    }

    /// The moves of each round, by order index modulo the round's length: pay then ship; cancel then try to pay;
    /// pay then cancel (the stock comes back).
    static let moves = [["pay", "cancel", "pay"], ["ship", "pay", "cancel"]]

    static func finalStatus(ofOrderAt index: Int) -> String {
        ["shipped", "cancelled", "cancelled"][index % 3]
    }

    private static func describe(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    private func createProduct(stock: Int, session: APISession, token: String) async throws -> TurnstileAPI.Product {
        let sku = "ts-\(UInt32.random(in: .min ... .max))-\(stock)"
        return try await session.call(
            TurnstileAPI.createProduct(sku: sku, stock: stock, token: token), expecting: 201,
            as: TurnstileAPI.Product.self)
    }

    /// The orders `users` hold on `productID`, read back one user at a time; cancelled ones only if asked.
    private func liveOrders(
        of productID: Int64, users: [VirtualUser], session: APISession, includingCancelled: Bool = false
    ) async throws -> [TurnstileAPI.Order] {
        var orders: [TurnstileAPI.Order] = []
        for user in users {
            let mine = try await session.call(
                TurnstileAPI.myOrders(token: user.token), expecting: 200, as: TurnstileAPI.Orders.self)
            orders += mine.orders.filter {
                $0.productID == productID && (includingCancelled || $0.status != "cancelled")
            }
        }
        return orders
    }
}
