import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe) on a thread of its own, never on a task: the
/// cooperative pool has one thread per core, and blocking one stalls the service and the engine running beside it.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
