import NIOCore
import Synchronization
import TurnstileCore

/// Encoded answers to event reads (the list pages and the details), kept while no write has committed since they
/// were read.
///
/// The cache's generation is the store's ``TurnstileStore/commitSequence``, which grows when a batch commits and
/// before any caller of that batch is answered. A reader notes it *before* reading the store, and its answer is kept
/// only under that value; once any batch commits, every kept answer is stale and the next lookup starts afresh. So
/// no client is served an availability older than a write it could have seen acknowledged, whichever handler of the
/// batch runs first.
final class EventReadCache: Sendable {
    enum Key: Hashable {
        case detail(Int64)
        case page(page: Int, pageSize: Int)
    }

    private struct State {
        var entries: [Key: ByteBuffer] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let commitSequence: @Sendable () -> UInt64

    /// A cache whose generation is `commitSequence()`, the store's count of committed batches.
    init(commitSequence: @escaping @Sendable () -> UInt64) {
        self.commitSequence = commitSequence
    }

    /// The cached body for `key` if there is one; otherwise the generation to hand back to ``store(_:for:readAt:)``.
    func lookUp(_ key: Key) -> (body: ByteBuffer?, generation: UInt64) {
        let current = commitSequence()
        return state.withLock { state in
            if state.generation != current {
                state.entries.removeAll(keepingCapacity: true)
                state.generation = current
            }
            return (state.entries[key], current)
        }
    }

    /// Keeps `body`, unless a batch committed since `generation` was read. Bounded: emptied when full.
    func store(_ body: ByteBuffer, for key: Key, readAt generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation, commitSequence() == generation else { return }
            if state.entries.count >= Limits.readCacheEntriesMax { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = body
        }
    }
}
