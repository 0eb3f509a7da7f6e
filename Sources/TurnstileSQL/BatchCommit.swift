import Foundation
import TurnstileCore
import TurnstileStore

/// The SQL half of every store's writer: what ``BatchPlan`` needs is read with a handful of statements, the plan
/// decides the whole batch, and its effects are written back, all on one session inside the caller's transaction.
public enum BatchCommit {
    /// Decides `batch` at `now` and writes what it changed; the caller commits (or rolls back) around it, and
    /// answers each write once it committed.
    public static func decideAndWrite(
        _ batch: [PendingWrite], now: Date, on session: some SQLSession
    ) async throws -> (answers: [WriteAnswer], effects: BatchPlan.Effects) {
        var plan = BatchPlan(
            try await BatchInputs.load(BatchPlan.needs(of: batch.lazy.map(\.operation)), now: now, on: session))
        let answers = batch.map { $0.decide(on: &plan) }
        let effects = plan.finish()
        try await write(effects, on: session)
        return (answers, effects)
    }

    /// Writes a batch's rows, parents before children so every foreign key finds its row.
    private static func write(_ effects: BatchPlan.Effects, on session: some SQLSession) async throws {
        try await upsert(on: session, Tables.users, effects.users)
        try await upsert(on: session, Tables.events, effects.events)
        try await upsert(on: session, Tables.products, effects.products)
        try await upsert(on: session, Tables.items, effects.items.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.bookings, effects.bookings.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.waitlist, effects.waitlist.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.orders, effects.orders.values.sorted { $0.id < $1.id })
        try await upsert(on: session, Tables.ledger, effects.ledger)
        try await upsert(on: session, Tables.bids, effects.bids)
        try await upsert(on: session, Tables.claimKeys, effects.claimKeys)
        var credits: [[SQLValue]] = []
        for (resource, balance) in effects.balances.sorted(by: { $0.key < $1.key }) {
            let remaining = balance.remaining
            switch resource {
            case .seats(let id):
                try await session.execute("UPDATE events SET available_seats = \(remaining) WHERE id = \(id)")
            case .stock(let id):
                try await session.execute("UPDATE products SET stock = \(remaining) WHERE id = \(id)")
            case .credits(let userID):
                credits.append([userID.sqlValue, balance.capacity.sqlValue, remaining.sqlValue])
            }
        }
        try await upsert(on: session, Tables.creditAccounts, credits)
    }

    /// Inserts rows, updating the table's changeable columns where the key exists, in as few statements as the bind
    /// limit allows.
    private static func upsert<Value>(
        on session: some SQLSession, _ table: Table<Value>, _ values: [Value]
    ) async throws {
        let rows = values.map(table.row)
        let rowsPerStatement = Limits.sqlBindsPerStatementMax / table.columns.count
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.endIndex)]
            let values = chunk.map { row -> SQLStatement in "\(list: row)" }
            var statement: SQLStatement = """
                INSERT INTO \(identifier: table.name) (\(columns: table.columns)) \
                VALUES \(values.joined(separator: ", "))
                """
            if !table.updated.isEmpty {
                let updates = table.updated.map { column -> SQLStatement in
                    "\(identifier: column) = excluded.\(identifier: column)"
                }
                statement += " ON CONFLICT (\(identifier: table.key)) DO UPDATE SET \(updates.joined(separator: ", "))"
            }
            try await session.execute(statement)
            start += chunk.count
        }
    }
}
