import Foundation
import Logging
import TurnstileCore
import TurnstileSQL
import TurnstileStore

extension SQLiteStore {
    /// Carries out one batch of writes in one transaction, in arrival order, and returns one answer per write.
    ///
    /// Runs only on the writer loop, on the writer's thread: every statement of the batch runs at once, there. A write refused by a rule (sold out, email taken, …) fails alone; an error of
    /// the database rolls the whole batch back and fails every write in it, so nothing is acknowledged that did not
    /// commit. The batch's live changes are published after the commit, before any caller is answered.
    func commit(_ batch: [PendingWrite]) async throws(TurnstileError) -> [WriteAnswer] {
        do {
            try writer.exec("BEGIN IMMEDIATE")
            do {
                // Truncated to what the store keeps, so a value answered now equals the same value read back later.
                let now = Date(millisecondsSince1970: clock().millisecondsSince1970)
                let (answers, effects) = try await BatchCommit.decideAndWrite(batch, now: now, on: writer)
                try writer.exec("COMMIT")
                changes.publish(effects.changes)
                return answers
            } catch {
                try? writer.exec("ROLLBACK")
                throw error
            }
        } catch {
            logger.error("write batch of \(batch.count) failed and was rolled back: \(error)")
            throw Self.storeError(error)
        }
    }
}
