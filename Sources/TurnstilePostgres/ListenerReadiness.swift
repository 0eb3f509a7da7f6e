import Synchronization

/// Whether an instance hears the other instances' changes (its `LISTEN` is in place), and the callers waiting until
/// it does.
final class ListenerReadiness: Sendable {
    private struct State {
        var isListening = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    var isListening: Bool { state.withLock { $0.isListening } }

    /// How many callers wait now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Records whether the `LISTEN` is in place; once it is, every waiter goes on.
    func set(listening: Bool) {
        let waiters = state.withLock { state in
            state.isListening = listening
            guard listening else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the `LISTEN` is in place, or once the calling task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let goOn = state.withLock { state -> Bool in
                    if state.isListening || Task.isCancelled { return true }
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
