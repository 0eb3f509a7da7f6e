import Synchronization
import TurnstileCore

/// Bounds one store call in time, so a database that is down, stalled or unreachable costs a caller a fast
/// ``TurnstileError/storeUnavailable(detail:)`` and never a hung request.
///
/// The call runs in a task of its own. If it has not finished within the timeout, the caller is answered at once;
/// the call's task is cancelled (which abandons, say, a wait for a pooled connection) and `abandon` runs, which should
/// make work that ignores cancellation fail soon (close the connection a query runs on). The caller never waits for
/// that: a statement stuck on a blackholed socket cannot hold it up.
///
/// ```swift
/// let rows = try await StoreDeadline.run(within: .milliseconds(800), "read") {
///     try await database.query(sql)
/// }
/// ```
public enum StoreDeadline {
    /// Runs `operation`; answers `storeUnavailable` if it takes longer than `timeout`.
    /// - Parameters:
    ///   - what: names the call in the error's detail, e.g. "read".
    ///   - abandon: called once on timeout, from any thread, to make the abandoned operation end.
    public static func run<Value: Sendable>(
        within timeout: Duration, _ what: String, abandon: @escaping @Sendable () -> Void = {},
        _ operation: @escaping @Sendable () async throws(TurnstileError) -> Value
    ) async throws(TurnstileError) -> Value {
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<Value, TurnstileError>, Never>) in
            let answer = Once(continuation)
            let work = Task {
                let result: Result<Value, TurnstileError>
                do throws(TurnstileError) { result = .success(try await operation()) } catch {
                    result = .failure(error)
                }
                answer.resume(with: result)
            }
            answer.setTimer(
                Task {
                    do { try await Task.sleep(for: timeout) } catch { return }
                    guard answer.resume(with: .failure(.storeUnavailable(detail: timedOut(what, timeout)))) else {
                        return
                    }
                    work.cancel()
                    abandon()
                })
        }
        return try result.get()
    }

    /// The detail of a timed-out call, e.g. "the store did not answer a read within 0.8 s".
    public static func timedOut(_ what: String, _ timeout: Duration) -> String {
        "the store did not answer a \(what) within \(timeout.secondsWithFraction) s"
    }
}

/// A continuation resumed exactly once, by whichever of the work and its timer gets there first; the timer is
/// cancelled as soon as the work answers, so a fast call leaves nothing sleeping behind.
private final class Once<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Never>?
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        state = Mutex(State(continuation: continuation))
    }

    /// Keeps the timer to cancel when the work answers; cancels it at once if the work already has.
    func setTimer(_ timer: Task<Void, Never>) {
        let answered = state.withLock { state -> Bool in
            guard state.continuation != nil else { return true }
            state.timer = timer
            return false
        }
        if answered { timer.cancel() }
    }

    /// Resumes the caller with `value` unless it was answered already; says whether this call answered it.
    @discardableResult
    func resume(with value: Value) -> Bool {
        let (continuation, timer) = state.withLock { state in
            defer {
                state.continuation = nil
                state.timer = nil
            }
            return (state.continuation, state.timer)
        }
        guard let continuation else { return false }
        timer?.cancel()
        continuation.resume(returning: value)
        return true
    }
}
