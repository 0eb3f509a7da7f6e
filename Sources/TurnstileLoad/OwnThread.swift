import Foundation
import NIOCore

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

extension Process {
    /// Waits for the process to end, at most `timeout`; past it, KILLs it and every process it started, and waits
    /// for that. Returns whether it ended within the time.
    @discardableResult
    public func endsWithin(_ timeout: TimeAmount) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await onOwnThread { self.waitUntilExit() }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                return false
            }
            let ended = await group.next() ?? true
            if !ended { ProcessTree.signal(processIdentifier, SIGKILL) }
            group.cancelAll()
            await group.waitForAll()
            return ended
        }
    }

    /// Starts the process from a thread of its own whose signal mask is empty. A child inherits the mask of the
    /// thread that starts it, and the engine's threads (NIO's event loops, the concurrency pool) block most signals:
    /// started from one of them, a service would never hear the TERM that asks it to stop.
    public func runWithSignalsUnblocked() async throws {
        try await onOwnThread {
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            try self.run()
        }
    }
}
