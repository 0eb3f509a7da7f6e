import Foundation
import NIOCore
import Synchronization

/// How many set-up calls (provisioning, read-back) run at once, adapted to the target: a slow answer halves it, a
/// fast one lets one more run, between 1 and a maximum. A target whose sign-up costs a third of a second of CPU on
/// one worker is then met with the patience it needs, instead of a queue of calls that all time out.
actor SetupConcurrency {
    private let maximum: Int
    private let slow: Duration
    private var limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(maximum: Int = LoadLimits.provisioningConcurrencyMax, slow: Duration = LoadLimits.setupSlowCall) {
        precondition(maximum >= 1, "at least one call must be allowed")
        self.maximum = maximum
        self.slow = slow
        limit = maximum
    }

    /// How many may run at once now.
    var currentLimit: Int { limit }

    /// Waits until one more call may run.
    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Ends a call that took `duration` (a failed one counts as slow), and adapts the limit to it.
    func release(took duration: Duration) {
        if duration >= slow {
            limit = max(1, limit / 2)
        } else if duration < slow / 4 {
            limit = min(maximum, limit + 1)
        }
        running -= 1
        while running < limit, !waiting.isEmpty {
            running += 1
            waiting.removeFirst().resume()
        }
    }
}

extension SuiteContext {
    /// Runs `body` for every index in `0..<count` on up to ``LoadLimits/provisioningConcurrencyMax`` sessions at
    /// once, as many as ``SetupConcurrency`` allows, and returns the results in index order. Set-up and read-back,
    /// not measurement: the calls use the set-up timeouts, and `label` names the work in the progress line.
    func forEach<Value: Sendable>(
        _ count: Int, label: String? = nil,
        _ body: @escaping @Sendable (_ index: Int, _ session: APISession) async throws -> Value
    ) async throws -> [Value] {
        guard count > 0 else { return [] }
        let gate = SetupConcurrency()
        let next = SharedCounter()
        let done = SharedCounter()
        let reporter = label.flatMap { label in
            progress?.noteEverySecond { "\(label): \(done.value)/\(count)" }
        }
        defer { reporter?.cancel() }
        let context = self
        return try await withThrowingTaskGroup(of: [(Int, Value)].self) { tasks in
            for _ in 0..<min(LoadLimits.provisioningConcurrencyMax, count) {
                tasks.addTask {
                    let session = context.setupSession()
                    var results: [(Int, Value)] = []
                    while true {
                        let index = next.increment()
                        guard index < count else { return results }
                        await gate.acquire()
                        let clock = ContinuousClock()
                        let start = clock.now
                        do {
                            results.append((index, try await body(index, session)))
                        } catch {
                            await gate.release(took: LoadLimits.setupSlowCall)
                            throw error
                        }
                        await gate.release(took: clock.now - start)
                        done.increment()
                    }
                }
            }
            var all: [(Int, Value)] = []
            for try await part in tasks { all += part }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}

/// A counter shared by tasks and a progress line.
final class SharedCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds one and returns the value before.
    @discardableResult
    func increment() -> Int { count.add(1, ordering: .relaxed).oldValue }

    var value: Int { count.load(ordering: .relaxed) }
}
