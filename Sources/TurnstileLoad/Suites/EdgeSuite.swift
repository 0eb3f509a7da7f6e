import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport
import TurnstileWire

/// Bad inputs: the ``EdgeCatalogue`` against every endpoint. Each case must get its expected status (a 4xx as
/// problem+json); any 5xx, hang, reset or crash fails it, and the target must still be healthy afterwards.
///
/// Every case runs on a connection of its own, written as raw bytes, so that no client library tidies the input up
/// and no case can disturb the next. Cases that wait on the server's own timeouts (a body that never finishes) run
/// beside the others.
public struct EdgeSuite: Sendable {
    public let context: SuiteContext
    public let cases: [EdgeCase]

    public init(_ context: SuiteContext, cases: [EdgeCase] = EdgeCatalogue.cases) {
        self.context = context
        self.cases = cases
    }

    static let phase = "edge"

    /// Runs the catalogue; its two users come from `pool` (the ones `scenarios/edge.yaml` used, when it ran first).
    public func run(pool: ScenarioUserPool = ScenarioUserPool(), into report: inout RunReport) async throws {
        context.progress?.note("edge: \(cases.count) bad inputs across every endpoint")
        let fixture = try await makeFixture(pool: pool)
        let (slow, quick) = (cases.filter { $0.timeout > .seconds(10) }, cases.filter { $0.timeout <= .seconds(10) })
        let context = self.context
        let slowResults = Task {
            await withTaskGroup(of: (Int, InvariantResult).self) { group in
                for (index, edgeCase) in slow.enumerated() {
                    group.addTask { (index, await Self.check(edgeCase, fixture: fixture, context: context)) }
                }
                var results: [(Int, InvariantResult)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }
        var results: [InvariantResult] = []
        for edgeCase in quick { results.append(await Self.check(edgeCase, fixture: fixture, context: context)) }
        if !slow.isEmpty {
            context.progress?.note("edge: waiting for the server to give up on \(slow.count) unfinished request(s)")
        }
        results += await slowResults.value
        report.invariants += results
        let health = await RawExchange.send(
            fixture.get("/health"), to: context.target, on: context.group.next(), timeout: .seconds(5))
        let healthy = if case .answered(status: 200, _) = health { true } else { false }
        report.invariants.append(
            InvariantResult(
                phase: Self.phase, rule: "the target is still healthy afterwards", expected: "200",
                actual: Self.describe(health), passed: healthy))
    }

    /// Sends one case and judges its outcome.
    static func check(_ edgeCase: EdgeCase, fixture: EdgeFixture, context: SuiteContext) async -> InvariantResult {
        let outcome = await RawExchange.send(
            edgeCase.request(fixture), to: context.target, on: context.group.next(),
            timeout: edgeCase.timeout)
        return InvariantResult(
            phase: phase, rule: edgeCase.name, expected: edgeCase.expectedDescription, actual: describe(outcome),
            passed: passes(outcome, edgeCase))
    }

    /// Whether `outcome` is one `edgeCase` allows: an expected status (a 4xx as problem+json), or a silent close
    /// where that is allowed. A 5xx is never expected, so it always fails, as do a hang and a reset.
    static func passes(_ outcome: RawExchange.Outcome, _ edgeCase: EdgeCase) -> Bool {
        switch outcome {
        case .answered(let status, let contentType):
            edgeCase.expected.contains(status)
                && (status < 400 || contentType?.hasPrefix("application/problem+json") == true)
        case .closedSilently: edgeCase.silentClosePasses
        case .reset, .timedOut, .refused: false
        }
    }

    static func describe(_ outcome: RawExchange.Outcome) -> String {
        switch outcome {
        case .answered(let status, let contentType):
            contentType?.hasPrefix("application/problem+json") == true ? "\(status) problem" : "\(status)"
        case .closedSilently: "closed"
        case .reset: "reset"
        case .timedOut: "hang"
        case .refused(let reason): "refused: \(reason)"
        }
    }

    /// Two users, and one event, hold, product, order and auction item of the first.
    private func makeFixture(pool: ScenarioUserPool) async throws -> EdgeFixture {
        let users = try await context.provision(2, pool: pool)
        let (owner, other) = (users[0], users[1])
        let session = context.session()
        let event = try await session.call(
            TurnstileAPI.createEvent(title: "Edge", seats: 5, token: owner.token), expecting: 201,
            as: TurnstileAPI.Event.self)
        let hold = try await session.call(
            .json(
                endpoint: "hold", .POST, "/api/v1/bookings/",
                body: #"{"event_id":\#(event.id),"seat_count":1,"hold_seconds":600}"#, token: owner.token),
            expecting: 201, as: TurnstileAPI.Booking.self)
        let product = try await session.call(
            TurnstileAPI.createProduct(sku: "EDGE-\(owner.id)", stock: 5, token: owner.token), expecting: 201,
            as: TurnstileAPI.Product.self)
        let order = try await session.call(
            TurnstileAPI.order(productID: product.id, quantity: 1, token: owner.token), expecting: 201,
            as: TurnstileAPI.Order.self)
        let item = try await session.call(
            TurnstileAPI.createItem(title: "Edge", startingPriceCents: 100, minIncrementCents: 10, token: owner.token),
            expecting: 201, as: TurnstileAPI.Item.self)
        return EdgeFixture(
            target: context.target, owner: owner, other: other, eventID: event.id, productID: product.id,
            itemID: item.id, bookingID: hold.id, orderID: order.id)
    }
}
