import NIOCore
import Synchronization
import Testing

@testable import TurnstileServer

/// The cache's one rule, without a server: an answer is served only while no batch has committed since it was read.
@Suite("EventReadCache")
struct EventReadCacheTests {
    private final class Sequence: Sendable {
        private let value = Atomic<UInt64>(0)
        func commit() { value.add(1, ordering: .sequentiallyConsistent) }
        var current: UInt64 { value.load(ordering: .sequentiallyConsistent) }
    }

    @Test("an answer read before a commit is never served after it, whichever order things happen in")
    func staleNeverServed() {
        let sequence = Sequence()
        let cache = EventReadCache { sequence.current }
        let body = ByteBuffer(string: "{}")

        // Read, commit, then store: the answer may predate the write, so it is not kept.
        let before = cache.lookUp(.detail(1))
        #expect(before.body == nil)
        sequence.commit()
        cache.store(body, for: .detail(1), readAt: before.generation)
        #expect(cache.lookUp(.detail(1)).body == nil)

        // Read and store with nothing committed: kept, and served.
        let fresh = cache.lookUp(.detail(1))
        cache.store(body, for: .detail(1), readAt: fresh.generation)
        #expect(cache.lookUp(.detail(1)).body == body)

        // A commit makes every kept answer stale at once.
        sequence.commit()
        #expect(cache.lookUp(.detail(1)).body == nil)
        #expect(cache.lookUp(.page(page: 1, pageSize: 20)).body == nil)
    }
}
