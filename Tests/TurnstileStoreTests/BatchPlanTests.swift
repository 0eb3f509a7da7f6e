import Foundation
import Testing
import TurnstileCore
import TurnstileStore

/// The rules every store carries out, without a database.
@Suite("BatchPlan")
struct BatchPlanTests {
    private let date = Date(timeIntervalSince1970: 1_900_000_000)

    private func booking(_ id: Int64, user: Int64, seats: Int, status: Booking.Status = .confirmed) -> Booking {
        Booking(id: id, userID: user, eventID: 42, seatCount: seats, status: status, createdAt: date)
    }

    @Test("a batch names what it needs read: events, keys, bookings and accounts")
    func needs() throws {
        let batch: [WriteCommand] = [
            .book(Claim(resourceID: 42, amount: 1, userID: 7, idempotencyKey: "k")),
            .cancelBooking(id: 9, userID: 8),
            .register(try Registration(email: "a@b.io", username: "ada", password: "password1"), passwordHash: "h"),
        ]
        let needs = BatchPlan.needs(of: batch)
        #expect(needs.eventIDs == [42] && needs.bookingIDs == [9] && needs.userIDs == [7, 8])
        #expect(needs.idempotencyRefs == [IdempotencyRef(userID: 7, key: "k")])
    }

    @Test("grants, in-batch replays and refusals get their results; grants only once they have ids")
    func decideAndComplete() {
        var plan = BatchPlan(.init(balances: [42: ResourceBalance(capacity: 3, remaining: 3)], knownUserIDs: [1, 2]))
        var results: [WriteResult?] = [
            plan.decide(Claim(resourceID: 42, amount: 2, userID: 1, idempotencyKey: "k"), commandIndex: 0),
            plan.decide(Claim(resourceID: 42, amount: 2, userID: 1, idempotencyKey: "k"), commandIndex: 1),
            plan.decide(Claim(resourceID: 42, amount: 2, userID: 2), commandIndex: 2),
        ]
        #expect(results[0] == nil && results[1] == nil)
        #expect(results[2] == .failure(.soldOut(requested: 2, available: 1)))
        #expect(plan.grants.map(\.commandIndex) == [0])
        let stored = booking(100, user: 1, seats: 2)
        plan.complete(&results, created: [0: stored])
        #expect(results[0] == .success(.booking(.created(stored))))
        #expect(results[1] == .success(.booking(.replayed(stored))))
        #expect(plan.allocator.balances[42]?.remaining == 1)
    }

    @Test("a stored grant is replayed as the stored booking")
    func storedReplay() {
        let stored = booking(5, user: 1, seats: 1)
        var plan = BatchPlan(
            .init(
                balances: [42: ResourceBalance(capacity: 1, remaining: 0)],
                storedGrants: [
                    IdempotencyRef(userID: 1, key: "k"): KeyedGrant(
                        resourceID: 42, amount: 1, origin: .stored(grantID: 5))
                ], storedBookings: [5: stored], knownUserIDs: [1]))
        #expect(
            plan.decide(Claim(resourceID: 42, amount: 1, userID: 1, idempotencyKey: "k"), commandIndex: 0)
                == .success(.booking(.replayed(stored))))
    }

    @Test("cancelling: only the owner, once; the seats go back")
    func cancel() {
        let held = booking(5, user: 1, seats: 2)
        var plan = BatchPlan(
            .init(
                balances: [42: ResourceBalance(capacity: 2, remaining: 0)], cancellable: [5: held],
                knownUserIDs: [1, 2]))
        #expect(plan.cancel(bookingID: 5, userID: 2) == .failure(.notFound(entity: "booking", id: 5)))
        #expect(plan.cancel(bookingID: 5, userID: 1) == .success(.cancelled(held.cancelled())))
        #expect(plan.cancel(bookingID: 5, userID: 1) == .success(.cancelled(held.cancelled())))
        #expect(plan.cancelledBookingIDs == [5])
        #expect(plan.allocator.balances[42]?.remaining == 2)
    }

    @Test("a write for an account that no longer exists is refused before it is decided")
    func accountGone() {
        let plan = BatchPlan(.init(balances: [:], knownUserIDs: [1]))
        #expect(plan.refusal(for: .book(Claim(resourceID: 42, amount: 1, userID: 9))) == .failure(.accountGone))
        #expect(plan.refusal(for: .book(Claim(resourceID: 42, amount: 1, userID: 1))) == nil)
    }
}
