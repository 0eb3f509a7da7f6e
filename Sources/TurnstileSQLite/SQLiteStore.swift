import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TurnstileCore
import TurnstileSQL
import TurnstileStore

/// The embedded store: one SQLite file in WAL mode, a single writer connection driven by a ``WriteQueue`` (group
/// commit), and a few reader connections so that reads never wait behind the writer.
///
/// SQLite allows one writer at a time; rather than letting requests contend for the file lock, every write goes
/// to the queue, and the writer carries out each batch in one `BEGIN IMMEDIATE … COMMIT` transaction. No
/// transaction is ever shared between tasks: only the writer loop touches the writer connection.
///
/// ```swift
/// try await SQLiteStore.withStore(SQLiteStoreConfiguration(path: "/tmp/t.sqlite")) { store in
///     let event = try await store.createEvent(newEvent, organizerID: 1)
/// }
/// ```
public final class SQLiteStore: SQLStore {
    let writer: SQLiteDatabase
    private let readers: [SQLiteDatabase]
    private let nextReader = Atomic<Int>(0)
    private let lock: DatabaseLock
    private let queue: WriteQueue<PendingWrite, ContinuousClock>
    private let timeouts: StoreTimeouts
    public let changes = ChangeFeed()
    let logger: Logger
    let clock: @Sendable () -> Date
    public let identity: String
    public var commitSequence: UInt64 { queue.commitSequence }
    public var writeActivity: WriteActivity { queue.activity }

    private init(
        writer: SQLiteDatabase, readers: [SQLiteDatabase], lock: DatabaseLock,
        identity: String, timeouts: StoreTimeouts, logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        queue = WriteQueue(timeouts: timeouts)
        self.lock = lock
        self.timeouts = timeouts
        self.writer = writer
        self.readers = readers
        self.identity = identity
        self.logger = logger
        self.clock = clock
    }

    /// Opens (creating if needed) and migrates the database, taking an exclusive lock on it: a file another process
    /// serves is refused with ``SQLiteStoreError/inUse(path:)``. Call ``run()`` to start the writer (it releases the
    /// lock when it ends), or use ``withStore(_:logger:clock:_:)`` for a scoped lifetime.
    public static func open(
        _ configuration: SQLiteStoreConfiguration,
        logger: Logger = Logger(label: "turnstile.sqlite"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> SQLiteStore {
        // Every connection has a thread of its own, so its statements run one after another:
        // - the writer's must never wait behind reads;
        // - two statements active at once on one connection share its read transaction, so a read started beside
        //   another would see that one's older snapshot, and miss a write its caller has already seen acknowledged.
        let lock = try DatabaseLock.acquire(configuration.path)
        // `busy_timeout` bounds the wait for another connection's lock, so another process holding the file can
        // never hang a request.
        let busyTimeout: SQLStatement = "PRAGMA busy_timeout = \(literal: Limits.sqliteBusyTimeoutMilliseconds)"
        var opened: [SQLiteDatabase] = []
        do {
            let writer = try await SQLiteDatabase.open(path: configuration.path)
            opened.append(writer)
            let identity = try await writer.run { writer in
                let journalMode = try writer.rows("PRAGMA journal_mode = WAL").first?.string("journal_mode")
                guard journalMode == "wal" else {
                    throw SQLiteStoreError.notWAL(journalMode: journalMode ?? "unknown", path: configuration.path)
                }
                let pragmas: [SQLStatement] = [
                    "PRAGMA synchronous = \(identifier: configuration.durability.rawValue.uppercased())",
                    "PRAGMA foreign_keys = ON", busyTimeout,
                ]
                for pragma in pragmas {
                    try writer.exec(pragma)
                }
                try SQLiteMigrations.migrate(writer)
                return try writer.rows("SELECT value FROM meta WHERE key = 'identity'").first?.string("value") ?? ""
            }
            precondition(!identity.isEmpty, "migration 2 stores the database's identity")
            var readers: [SQLiteDatabase] = []
            for _ in 0..<configuration.readerCount {
                let reader = try await SQLiteDatabase.open(path: configuration.path)
                opened.append(reader)
                try await reader.run { reader in
                    try reader.exec(busyTimeout)
                    try reader.exec("PRAGMA query_only = ON")
                }
                readers.append(reader)
            }
            return SQLiteStore(
                writer: writer, readers: readers, lock: lock, identity: identity, timeouts: configuration.timeouts,
                logger: logger, clock: clock)
        } catch {
            for connection in opened { try? await connection.closeAndStop() }
            lock.release()
            throw error
        }
    }

    /// Opens the store, runs its writer while `body` runs, then drains the writer and closes everything.
    public static func withStore<Result: Sendable>(
        _ configuration: SQLiteStoreConfiguration,
        logger: Logger = Logger(label: "turnstile.sqlite"),
        clock: @escaping @Sendable () -> Date = { Date() },
        _ body: (SQLiteStore) async throws -> Result
    ) async throws -> Result {
        let store = try await open(configuration, logger: logger, clock: clock)
        async let writer: Void = store.run()
        do {
            let result = try await body(store)
            store.queue.close()
            try await writer
            return result
        } catch {
            store.queue.close()
            try? await writer
            throw error
        }
    }

    /// Runs the writer until graceful shutdown (or cancellation), then finishes the writes already accepted and
    /// closes every connection.
    ///
    /// The writer loop runs on the writer connection's own thread (its task prefers it as executor), so each batch
    /// runs there from its first statement to its commit, with no hop between statements.
    public func run() async throws {
        await withTaskExecutorPreference(writer.thread) {
            await runWriter(queue, clock: clock, logger: logger) { batch throws(TurnstileError) in
                try await self.commit(batch)
            }
        }
        for connection in [writer] + readers {
            do { try await connection.closeAndStop() } catch { logger.error("closing SQLite failed: \(error)") }
        }
        lock.release()
    }

    // MARK: Writes: each goes to the single writer

    public func write<Write: WriteOperation>(_ write: Write) async throws(TurnstileError) -> Write.Output {
        try await queue.submit(write)
    }

    // MARK: Reads: every statement is ``SQLStore``'s, on the reader connections, from the last committed state

    /// Runs a read on the next reader connection, round robin, within ``StoreTimeouts/read``.
    public func read(_ statement: SQLStatement) async throws(TurnstileError) -> [any SQLRow] {
        let reader = readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
        let logger = self.logger
        return try await StoreDeadline.run(within: timeouts.read, "read") {
            () throws(TurnstileError) in
            do {
                return try await reader.run { try $0.rows(statement) }
            } catch {
                logger.error("read failed: \(error)")
                throw Self.storeError(error)
            }
        }
    }
}
