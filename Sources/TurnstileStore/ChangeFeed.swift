import Synchronization
import TurnstileCore

/// Where a store publishes the changes of each committed batch, in commit order, for live feeds; and whether every
/// committed change reaches it.
///
/// Observers are called on the store's writer, right after the commit and before any caller is answered, so they
/// must not block: a live hub only encodes and enqueues.
///
/// A store that hears other instances' changes from elsewhere (PostgreSQL's `LISTEN`) makes its feed
/// ``isComplete`` only while it hears them. When it stops (its connection lost), it ``interrupt()``s the feed:
/// changes may be missed from then until it ``resume()``s, so a live subscriber who was there has to reconnect to
/// hear everything again. A feed of a store that commits every change itself is complete from the start.
public final class ChangeFeed: Sendable {
    public typealias Observer = @Sendable ([LiveChange]) -> Void

    private struct State {
        var observers: [Observer] = []
        var interruptionObservers: [@Sendable () -> Void] = []
        var isComplete: Bool
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state: Mutex<State>

    /// A feed that every committed change reaches (`complete`), or one that reaches none until ``resume()``.
    public init(complete: Bool = true) {
        state = Mutex(State(isComplete: complete))
    }

    /// Whether every committed change reaches the feed now.
    public var isComplete: Bool { state.withLock { $0.isComplete } }

    /// How many callers of ``waitUntilComplete()`` wait now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Calls `observer` with every later batch's changes.
    public func observe(_ observer: @escaping Observer) {
        state.withLock { $0.observers.append(observer) }
    }

    /// Calls `observer` each time the feed is interrupted, after ``isComplete`` turned false.
    public func observeInterruptions(_ observer: @escaping @Sendable () -> Void) {
        state.withLock { $0.interruptionObservers.append(observer) }
    }

    /// Hands one committed batch's changes to every observer.
    public func publish(_ changes: [LiveChange]) {
        guard !changes.isEmpty else { return }
        for observer in state.withLock({ $0.observers }) { observer(changes) }
    }

    /// Changes may be missed from now on: tells the interruption observers (unless the feed was interrupted
    /// already, with no ``resume()`` since).
    public func interrupt() {
        let observers = state.withLock { state in
            defer { state.isComplete = false }
            return state.isComplete ? state.interruptionObservers : []
        }
        for observer in observers { observer() }
    }

    /// Every committed change reaches the feed again; whoever waits for that goes on.
    public func resume() {
        let waiters = state.withLock { state in
            state.isComplete = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the feed is complete, or once the calling task is cancelled.
    public func waitUntilComplete() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let goOn = state.withLock { state -> Bool in
                    if state.isComplete || Task.isCancelled { return true }
                    state.waiters[id] = waiter
                    return false
                }
                if goOn { waiter.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
