import Synchronization
import TurnstileCore

/// Bounds the password hashes computed at once, and those waiting: hashing is the service's most expensive work per
/// request, so a flood of sign-ups or logins must queue behind a fixed number of hashes, and past a short queue be
/// turned away at once (503 `overloaded`, `Retry-After`), rather than take every core from the rest of the service.
final class HashingGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, any Error>] = []
    }

    let concurrency: Int
    let queuedMax: Int
    private let state = Mutex(State())

    init(concurrency: Int, queuedMax: Int) {
        precondition(concurrency >= 1 && queuedMax >= 0, "a hashing gate lets at least one hash through")
        self.concurrency = concurrency
        self.queuedMax = queuedMax
    }

    /// Hashes waiting for a place now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Runs `work` once a place is free, or throws ``TurnstileError/overloaded`` at once when the queue is full.
    func run<Value: Sendable>(_ work: () async throws -> Value) async throws -> Value {
        try await enter()
        defer { leave() }
        return try await work()
    }

    /// Takes a free place, waits in line for one, or throws ``TurnstileError/overloaded`` when the line is full:
    /// decided under one lock, so the line never grows past ``queuedMax``.
    private func enter() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let admitted = state.withLock { state -> Bool? in
                if state.running < concurrency {
                    state.running += 1
                    return true
                }
                guard state.waiting.count < queuedMax else { return false }
                state.waiting.append(continuation)
                return nil
            }
            switch admitted {
            case true: continuation.resume()
            case false: continuation.resume(throwing: TurnstileError.overloaded)
            case nil: break  // resumed by the `leave()` that hands it a place
            }
        }
    }

    /// Hands the place to the next waiter (it keeps the running count), or frees it.
    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
