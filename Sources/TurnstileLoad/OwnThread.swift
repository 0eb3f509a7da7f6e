import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe to the end) on a thread of its own.
///
/// Never on a task: Swift's cooperative pool has one thread per core, and blocking one for a child process's whole
/// life stalls everything else running beside it: the service, the engine, other tests.
public func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// The same, for work that throws.
@discardableResult
public func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await onOwnThread { Swift.Result { try body() } }.get()
}
