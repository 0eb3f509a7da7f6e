import Synchronization

/// What a store's writer did, batch by batch, for metrics: how many writes each batch carried and whether it
/// committed. Observers are called on the writer right after each batch, so they must not block.
public final class WriteActivity: Sendable {
    public typealias Observer = @Sendable (_ writes: Int, _ committed: Bool) -> Void

    private let observers = Mutex<[Observer]>([])

    public init() {}

    /// Calls `observer` after every later batch.
    public func observe(_ observer: @escaping Observer) {
        observers.withLock { $0.append(observer) }
    }

    /// Reports one batch of `writes` writes, committed or failed.
    public func report(writes: Int, committed: Bool) {
        for observer in observers.withLock({ $0 }) { observer(writes, committed) }
    }
}
