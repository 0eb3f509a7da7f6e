import Testing

@testable import TurnstileCore

@Suite("BatchAllocator")
struct BatchAllocatorTests {
    private let event = ResourceKey.seats(eventID: 42)

    private func claim(_ amount: Int, user: Int64, key: String? = nil, resource: Int64 = 42) -> Claim {
        Claim(resource: .seats(eventID: resource), amount: amount, userID: user, idempotencyKey: key)
    }

    @Test("100 claims of 1 on 10 seats: exactly the first 10 granted, 0 left")
    func exactGrants() {
        let claims = (1...100).map { claim(1, user: Int64($0)) }
        let (decisions, balances) = BatchAllocator.decide(
            claims, balances: [event: ResourceBalance(capacity: 10, remaining: 10)])
        #expect(decisions.prefix(10).allSatisfy { $0 == .granted })
        #expect(decisions.dropFirst(10).allSatisfy { $0 == .refused(remaining: 0) })
        #expect(balances[event]?.remaining == 0)
        #expect(balances[event]?.granted == 10)
    }

    @Test("claims are judged in arrival order (FIFO)")
    func fifoOrder() {
        let claims = [claim(4, user: 1), claim(4, user: 2), claim(4, user: 3)]
        let (decisions, balances) = BatchAllocator.decide(
            claims, balances: [event: ResourceBalance(capacity: 10, remaining: 10)])
        #expect(decisions == [.granted, .granted, .refused(remaining: 2)])
        #expect(balances[event]?.remaining == 2)
    }

    @Test("a large claim is refused while a later smaller one that fits is still granted")
    func noHeadOfLineBlocking() {
        let claims = [claim(5, user: 1), claim(2, user: 2), claim(2, user: 3)]
        let (decisions, balances) = BatchAllocator.decide(
            claims, balances: [event: ResourceBalance(capacity: 10, remaining: 3)])
        #expect(decisions == [.refused(remaining: 3), .granted, .refused(remaining: 1)])
        #expect(balances[event]?.remaining == 1)
    }

    @Test("a replay within the batch consumes nothing and points at the original grant")
    func replayInBatch() {
        let claims = [claim(2, user: 7, key: "k"), claim(2, user: 7, key: "k"), claim(2, user: 8, key: "k")]
        let (decisions, balances) = BatchAllocator.decide(
            claims, balances: [event: ResourceBalance(capacity: 10, remaining: 10)])
        #expect(decisions == [.granted, .replay(of: .inBatch(claimIndex: 0)), .granted])
        #expect(balances[event]?.remaining == 6, "user 8's key is their own, so their claim is a new grant")
    }

    @Test("a replay of a stored grant consumes nothing, even when sold out")
    func replayOfStoredGrant() {
        let stored = [
            IdempotencyRef(userID: 7, key: "k"): KeyedGrant(resource: event, amount: 2, origin: .stored(grantID: 99))
        ]
        let (decisions, balances) = BatchAllocator.decide(
            [claim(2, user: 7, key: "k")], balances: [event: ResourceBalance(capacity: 10, remaining: 0)],
            storedGrants: stored)
        #expect(decisions == [.replay(of: .stored(grantID: 99))])
        #expect(balances[event]?.remaining == 0)
    }

    @Test("a key reused for a different claim is refused and consumes nothing")
    func keyReused() {
        let claims = [
            claim(2, user: 7, key: "k"), claim(3, user: 7, key: "k"), claim(2, user: 7, key: "k", resource: 43),
        ]
        let (decisions, balances) = BatchAllocator.decide(
            claims,
            balances: [
                event: ResourceBalance(capacity: 10, remaining: 10),
                .seats(eventID: 43): ResourceBalance(capacity: 5, remaining: 5),
            ])
        #expect(decisions == [.granted, .keyReused, .keyReused])
        #expect(balances[event]?.remaining == 8)
        #expect(balances[.seats(eventID: 43)]?.remaining == 5)
    }

    @Test("a refused keyed claim is not remembered: a retry is judged afresh")
    func refusalNotRemembered() {
        var allocator = BatchAllocator(balances: [event: ResourceBalance(capacity: 10, remaining: 1)])
        #expect(allocator.decide(claim(2, user: 7, key: "k")) == .refused(remaining: 1))
        allocator.release(event, amount: 1)
        #expect(allocator.decide(claim(2, user: 7, key: "k")) == .granted)
        #expect(allocator.balances[event]?.remaining == 0)
    }

    @Test("an unknown resource is reported, and other resources are untouched")
    func unknownResource() {
        var allocator = BatchAllocator(balances: [event: ResourceBalance(capacity: 1, remaining: 1)])
        #expect(allocator.decide(claim(1, user: 1, resource: 404)) == .unknownResource)
        #expect(allocator.changedResources.isEmpty)
        #expect(allocator.decide(claim(1, user: 1)) == .granted)
        #expect(allocator.changedResources == [event])
    }

    @Test("releases return seats that later claims in the same batch can take")
    func releaseThenClaim() {
        var allocator = BatchAllocator(balances: [event: ResourceBalance(capacity: 2, remaining: 0)])
        #expect(allocator.decide(claim(1, user: 1)) == .refused(remaining: 0))
        allocator.release(event, amount: 2)
        #expect(allocator.decide(claim(2, user: 2)) == .granted)
        #expect(allocator.balances[event] == ResourceBalance(capacity: 2, remaining: 0))
    }

    @Test("claims count their index so replays can name the claim they repeat")
    func claimIndices() {
        var allocator = BatchAllocator(balances: [event: ResourceBalance(capacity: 5, remaining: 5)])
        allocator.decide(claim(1, user: 1))
        allocator.decide(claim(1, user: 2, key: "a"))
        #expect(allocator.decide(claim(1, user: 2, key: "a")) == .replay(of: .inBatch(claimIndex: 1)))
        #expect(allocator.claimsDecided == 3)
    }

    /// Every sequence of claims and releases over a small domain, checked against a direct model of the rules:
    /// the allocator grants exactly when the claim fits, and the balance never leaves `0...capacity`.
    @Test("exhaustive: every sequence of up to 6 operations on capacity 0...4 matches the model")
    func exhaustiveAgainstModel() {
        enum Operation { case claim(Int), release(Int) }
        let alphabet: [Operation] = [.claim(1), .claim(2), .claim(3), .release(1), .release(2)]
        var sequencesChecked = 0

        func check(_ operations: [Operation], capacity: Int) {
            var allocator = BatchAllocator(balances: [event: ResourceBalance(capacity: capacity, remaining: capacity)])
            var modelRemaining = capacity
            for operation in operations {
                switch operation {
                case .claim(let amount):
                    let decision = allocator.decide(claim(amount, user: 1))
                    if amount <= modelRemaining {
                        #expect(decision == .granted)
                        modelRemaining -= amount
                    } else {
                        #expect(decision == .refused(remaining: modelRemaining))
                    }
                case .release(let amount):
                    // Only live grants can be released; the model skips what the store would never ask.
                    guard modelRemaining + amount <= capacity else { continue }
                    allocator.release(event, amount: amount)
                    modelRemaining += amount
                }
                let remaining = allocator.balances[event]!.remaining
                #expect(remaining == modelRemaining)
                #expect((0...capacity).contains(remaining))
            }
            sequencesChecked += 1
        }

        func enumerate(_ prefix: [Operation], capacity: Int) {
            check(prefix, capacity: capacity)
            guard prefix.count < 6 else { return }
            for operation in alphabet { enumerate(prefix + [operation], capacity: capacity) }
        }
        for capacity in 0...4 { enumerate([], capacity: capacity) }
        #expect(sequencesChecked == 5 * (1 + 5 + 25 + 125 + 625 + 3125 + 15625))
    }
}
