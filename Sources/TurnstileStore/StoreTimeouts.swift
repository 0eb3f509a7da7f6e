import TurnstileCore

/// How long store calls may take before they are answered 503 `store_unavailable`. Every default is in ``Limits``.
///
/// ```swift
/// var configuration = SQLiteStoreConfiguration(path: "turnstile.sqlite")
/// configuration.timeouts = StoreTimeouts(bound: .seconds(2))
/// ```
public struct StoreTimeouts: Sendable, Equatable {
    /// The longest one read may take.
    public var read: Duration
    /// The longest a write may wait for the writer to take it (it was then never carried out).
    public var writeWait: Duration
    /// The longest from a write's arrival to its answer, whatever stage it is in.
    public var writeAnswer: Duration

    public init(
        read: Duration = .milliseconds(Limits.storeReadTimeoutMilliseconds),
        writeWait: Duration = .milliseconds(Limits.writeQueueWaitMilliseconds),
        writeAnswer: Duration = .milliseconds(Limits.writeAnswerTimeoutMilliseconds)
    ) {
        precondition(read > .zero && writeWait > .zero && writeAnswer > writeWait, "store timeouts must be positive")
        self.read = read
        self.writeWait = writeWait
        self.writeAnswer = writeAnswer
    }

    /// Every bound from one: reads and write answers within `bound`, at most half of it waiting for the writer.
    public init(bound: Duration) {
        self.init(read: bound, writeWait: bound / 2, writeAnswer: bound)
    }
}

extension WriteQueue where QueueClock == ContinuousClock {
    /// A queue whose writes are bounded by `timeouts`.
    public convenience init(batchMax: Int = Limits.writeBatchCommandsMax, timeouts: StoreTimeouts) {
        self.init(batchMax: batchMax, waitMax: timeouts.writeWait, answerMax: timeouts.writeAnswer)
    }
}
