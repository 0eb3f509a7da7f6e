import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import ServiceLifecycle
import Synchronization
import TurnstileCore
import TurnstileSQL
import TurnstileStore

/// The embedded store: one SQLite file in WAL mode, a single writer connection driven by a ``WriteQueue`` (group
/// commit), and a few reader connections so that reads never wait behind the writer.
///
/// SQLite allows one writer at a time; rather than letting requests contend for the file lock, every write is a
/// command on the queue, and the writer carries out each batch in one `BEGIN IMMEDIATE … COMMIT` transaction. No
/// transaction is ever shared between tasks: only the writer loop touches the writer connection.
///
/// ```swift
/// try await SQLiteStore.withStore(SQLiteStoreConfiguration(path: "/tmp/t.sqlite")) { store in
///     let event = try await store.createEvent(newEvent, organizerID: 1)
/// }
/// ```
public final class SQLiteStore: SQLStore {
    let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let nextReader = Atomic<Int>(0)
    private let threadPools: [NIOThreadPool]
    private let lock: DatabaseLock
    private let queue: WriteQueue<WriteCommand, WriteResult, ContinuousClock>
    private let timeouts: StoreTimeouts
    public let changes = ChangeFeed()
    let logger: Logger
    let clock: @Sendable () -> Date
    public let identity: String
    public var commitSequence: UInt64 { queue.commitSequence }
    public var writeActivity: WriteActivity { queue.activity }

    private init(
        writer: SQLiteConnection, readers: [SQLiteConnection], threadPools: [NIOThreadPool], lock: DatabaseLock,
        identity: String, timeouts: StoreTimeouts, logger: Logger, clock: @escaping @Sendable () -> Date
    ) {
        queue = WriteQueue(timeouts: timeouts)
        self.lock = lock
        self.timeouts = timeouts
        self.writer = writer
        self.readers = readers
        self.threadPools = threadPools
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
        // Every connection has a thread pool of one thread, so its statements run one after another:
        // - the writer's must never wait behind reads (a pool is one FIFO queue);
        // - two statements active at once on one connection share its read transaction, so a read started beside
        //   another would see that one's older snapshot, and miss a write its caller has already seen acknowledged.
        let lock = try DatabaseLock.acquire(configuration.path)
        let writerPool = NIOThreadPool(numberOfThreads: 1)
        let readerPools = (0..<configuration.readerCount).map { _ in NIOThreadPool(numberOfThreads: 1) }
        let threadPools = [writerPool] + readerPools
        for pool in threadPools { pool.start() }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        // `busy_timeout` replaces SQLiteNIO's retry-forever busy handler with a bounded wait, so another process
        // holding the file can never hang a request.
        let busyTimeout = "PRAGMA busy_timeout = \(Limits.sqliteBusyTimeoutMilliseconds)"
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(
                storage: .file(path: configuration.path), threadPool: writerPool, logger: logger, on: eventLoop)
            opened.append(writer)
            let journalMode = try await writer.query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
            guard journalMode == "wal" else {
                throw SQLiteStoreError.notWAL(journalMode: journalMode ?? "unknown", path: configuration.path)
            }
            for pragma in [
                "PRAGMA synchronous = \(configuration.durability.rawValue.uppercased())", "PRAGMA foreign_keys = ON",
                busyTimeout,
            ] {
                try await writer.execute(pragma)
            }
            try await SQLiteMigrations.migrate(writer)
            let identity =
                try await writer.query("SELECT value FROM meta WHERE key = 'identity'")
                .first?.column("value")?.string ?? ""
            precondition(!identity.isEmpty, "migration 2 stores the database's identity")
            var readers: [SQLiteConnection] = []
            for readerPool in readerPools {
                let reader = try await SQLiteConnection.open(
                    storage: .file(path: configuration.path), threadPool: readerPool, logger: logger, on: eventLoop)
                opened.append(reader)
                try await reader.execute(busyTimeout)
                try await reader.execute("PRAGMA query_only = ON")
                readers.append(reader)
            }
            return SQLiteStore(
                writer: writer, readers: readers, threadPools: threadPools, lock: lock, identity: identity,
                timeouts: configuration.timeouts, logger: logger, clock: clock)
        } catch {
            for connection in opened { try? await connection.close() }
            for pool in threadPools { try? await pool.shutdownGracefully() }
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
    public func run() async throws {
        await runWriter(queue, clock: clock, logger: logger) { batch throws(TurnstileError) in
            try await self.commit(batch)
        }
        for connection in [writer] + readers {
            do { try await connection.close() } catch { logger.error("closing SQLite failed: \(error)") }
        }
        lock.release()
        for pool in threadPools { try await pool.shutdownGracefully() }
    }

    // MARK: Writes: each is a command for the single writer

    public func write(_ command: WriteCommand) async throws(TurnstileError) -> WriteOutput {
        try await queue.submit(command).get()
    }

    // MARK: Reads: every statement is ``SQLStore``'s, on the reader connections, from the last committed state

    /// Runs a read on the next reader connection, round robin, within ``StoreTimeouts/read``.
    public func read(_ sql: String, _ binds: [SQLValue]) async throws(TurnstileError) -> [any SQLRow] {
        let reader = readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
        let logger = self.logger
        return try await StoreDeadline.run(within: timeouts.read, "read") {
            () throws(TurnstileError) in
            do {
                return try await reader.query(sql, binds)
            } catch {
                logger.error("read failed: \(error)")
                throw Self.storeError(error)
            }
        }
    }
}
