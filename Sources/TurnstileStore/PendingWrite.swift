import TurnstileCore

/// A write waiting for a store's writer, with its caller: what ``WriteQueue`` holds for a store.
public struct PendingWrite: QueuedWrite {
    /// The write, for its batch's needs.
    public let operation: any WriteOperation
    private let decide: @Sendable (inout BatchPlan) -> WriteAnswer
    private let failCaller: @Sendable (TurnstileError) -> Void

    init<Write: WriteOperation>(
        _ operation: Write, caller: CheckedContinuation<Result<Write.Output, TurnstileError>, Never>
    ) {
        self.operation = operation
        decide = { plan in
            let result = plan.apply(operation)
            return { caller.resume(returning: result) }
        }
        failCaller = { caller.resume(returning: .failure($0)) }
    }

    /// Decides the write, the next in its batch, and returns how its caller is answered once the batch committed.
    public func decide(on plan: inout BatchPlan) -> WriteAnswer {
        decide(&plan)
    }

    public func fail(_ error: TurnstileError) {
        failCaller(error)
    }
}

extension WriteQueue where Write == PendingWrite {
    /// Queues a write and waits until the batch carrying it has committed.
    ///
    /// A write that was accepted is carried out even if the calling task is cancelled meanwhile: the caller only
    /// stops waiting for the answer once it has it.
    public func submit<Operation: WriteOperation>(
        _ operation: Operation
    ) async throws(TurnstileError) -> Operation.Output {
        try await withCheckedContinuation { caller in submit(PendingWrite(operation, caller: caller)) }.get()
    }
}
