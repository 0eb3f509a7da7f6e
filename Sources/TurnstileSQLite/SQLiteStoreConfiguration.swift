import TurnstileStore

/// How an ``SQLiteStore`` opens its file.
public struct SQLiteStoreConfiguration: Sendable {
    /// How hard a commit works to survive crashes.
    public enum Durability: String, CaseIterable, Sendable {
        /// Every commit is synced to disk before it is acknowledged: survives a process crash and a power loss.
        case full
        /// Commits survive a process crash (`kill -9`) but the last ones may be lost on a power loss. Faster.
        case normal
        /// Nothing is synced: fastest, and an operating-system crash can lose or corrupt recent commits.
        case off
    }

    /// The database file; created, with its schema, if it does not exist.
    public var path: String
    /// How commits are synced; ``Durability/full`` unless changed.
    public var durability: Durability
    /// How many read-only connections serve reads beside the writer, each with a thread of its own.
    public var readerCount: Int
    /// How long reads and writes may take before they are answered 503.
    public var timeouts: StoreTimeouts

    /// Creates a configuration with every default written down.
    public init(
        path: String = "turnstile.sqlite", durability: Durability = .full, readerCount: Int = 2,
        timeouts: StoreTimeouts = StoreTimeouts()
    ) {
        precondition(readerCount >= 1, "at least one reader is needed")
        self.path = path
        self.durability = durability
        self.readerCount = readerCount
        self.timeouts = timeouts
    }
}
