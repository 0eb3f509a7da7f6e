import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe to the end) on a thread of its own.
///
/// Never on a task: Swift's cooperative pool has one thread per core (two here), and a test that blocked them for a
/// child process's whole life would starve every other test running beside it.
public func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// The same, for work that throws.
public func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await onOwnThread { Swift.Result { try body() } }.get()
}
