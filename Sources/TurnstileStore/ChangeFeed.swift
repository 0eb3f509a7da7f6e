import Synchronization
import TurnstileCore

/// Where a store publishes the changes of each committed batch, in commit order, for live feeds.
///
/// Observers are called on the store's writer, right after the commit and before any caller is answered, so they
/// must not block: a live hub only encodes and enqueues.
public final class ChangeFeed: Sendable {
    public typealias Observer = @Sendable ([LiveChange]) -> Void

    private let observers = Mutex<[Observer]>([])

    public init() {}

    /// Calls `observer` with every later batch's changes.
    public func observe(_ observer: @escaping Observer) {
        observers.withLock { $0.append(observer) }
    }

    /// Hands one committed batch's changes to every observer.
    public func publish(_ changes: [LiveChange]) {
        guard !changes.isEmpty else { return }
        for observer in observers.withLock({ $0 }) { observer(changes) }
    }
}
