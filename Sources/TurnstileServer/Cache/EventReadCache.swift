import NIOCore
import Synchronization
import TurnstileCore

/// Encoded answers to event reads (the list pages and the details), kept until a write changes what they show.
///
/// Every write that changes an event (a new event, a granted booking, a cancellation) invalidates the cache once it
/// has committed. A reader notes the cache's generation *before* it reads the store, and its answer is cached only
/// if no invalidation happened meanwhile: so an answer read before a write can never be cached after it, and no
/// client is served an availability older than a write it could have seen acknowledged.
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

    /// The cached body for `key` if there is one; otherwise the generation to hand back to ``store(_:for:readAt:)``.
    func lookUp(_ key: Key) -> (body: ByteBuffer?, generation: UInt64) {
        state.withLock { ($0.entries[key], $0.generation) }
    }

    /// Keeps `body`, unless an invalidation happened since `generation` was read. Bounded: emptied when full.
    func store(_ body: ByteBuffer, for key: Key, readAt generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Limits.readCacheEntriesMax { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = body
        }
    }

    /// Forgets everything: called after every committed write that changes an event.
    func invalidate() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
