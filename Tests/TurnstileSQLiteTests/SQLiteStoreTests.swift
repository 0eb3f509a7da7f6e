import Foundation
import Testing
import TurnstileCore
import TurnstileSQL
import TurnstileStore

@testable import TurnstileSQLite

/// What only SQLite's own schema can show: its constraints and trigger, with the decision rules bypassed. Everything
/// else a store must do is in the store contract suite, which runs against SQLite and PostgreSQL alike.
@Suite("SQLiteStore", .timeLimit(.minutes(1)))
struct SQLiteStoreTests {
    @Test("the schema's CHECK constraints refuse an oversold event even if the allocator were bypassed")
    func checkConstraints() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (event, _) = try await seed(store, seats: 2, users: 1)
                for seats in [-1, 3] {
                    await #expect {
                        try await store.writer.run {
                            try $0.exec("UPDATE events SET available_seats = \(seats) WHERE id = \(event.id)")
                        }
                    } throws: { error in
                        (error as? SQLiteFailure)?.message.contains("CHECK constraint failed") == true
                    }
                }
                #expect(try await store.event(id: event.id)?.availableSeats == 2)
            }
        }
    }

    @Test("the bids trigger refuses, even behind the decision rules' back, a bid that does not beat the last one")
    func bidsTrigger() async throws {
        try await withTemporaryDatabase { configuration in
            try await SQLiteStore.withStore(configuration) { store in
                let (_, userIDs) = try await seed(store, seats: 1, users: 1)
                let item = try await store.createItem(
                    try NewItem(
                        title: "Lamp", startingPriceCents: 100, minIncrementCents: 1, endsAt: nil, now: Date()),
                    sellerID: userIDs[0])
                func bid(seq: Int, amount: Int) async throws {
                    try await store.writer.run {
                        try $0.exec(
                            """
                            INSERT INTO bids (item_id, seq, bidder_id, amount_cents, created_at_ms)
                            VALUES (\(item.id), \(seq), \(userIDs[0]), \(amount), 0)
                            """)
                    }
                }
                try await bid(seq: 5, amount: 100)
                try await bid(seq: 6, amount: 150)
                // Not higher than the last; higher but numbered before it; equal to it.
                for (seq, amount) in [(7, 120), (4, 500), (7, 150)] {
                    await #expect {
                        try await bid(seq: seq, amount: amount)
                    } throws: { error in
                        (error as? SQLiteFailure)?.message.contains("must come after and beat") == true
                    }
                }
                try await bid(seq: 7, amount: 151)
                let stored = try await store.bids(itemID: item.id).map(\.amountCents)
                #expect(stored == [100, 150, 151])
            }
        }
    }
}
