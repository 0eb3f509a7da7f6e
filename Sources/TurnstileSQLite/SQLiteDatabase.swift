import NIOPosix
import Synchronization
import TurnstileSQL
// The SQLite that SQLiteNIO compiles in (symbols prefixed `sqlite_nio_`). Using that same copy matters: two copies of
// SQLite in one process would each keep their own POSIX locks on the file, and closing either's descriptor drops the
// other's locks. SwiftPM makes the module visible through the SQLiteNIO dependency.
import VaporCSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One SQLite connection through SQLite's C API, with the statements it runs prepared once and kept.
///
/// Every call on a connection runs on its ``SQLiteThread``, one at a time: ``run(_:)`` hops there, and a task that
/// prefers the thread as its executor (the writer loop) calls ``rows(_:)`` directly, so a whole batch (every
/// statement, and the plan between them) runs there without a hop per statement. SQLiteNIO, which this replaces for
/// the store, prepares each statement anew and hops to its thread pool per statement and to an event loop per row.
final class SQLiteDatabase: @unchecked Sendable {
    // @unchecked: `handle` and `statements` are touched only on `thread`, which runs one job at a time.

    /// The connection's own thread.
    let thread: SQLiteThread
    private var handle: OpaquePointer?
    /// Prepared statements by their text, kept for the life of the connection (up to ``statementsKeptMax``).
    private var statements: [String: Prepared] = [:]

    /// A prepared statement and the names of the columns its rows have, read once when it is prepared.
    private struct Prepared {
        let statement: OpaquePointer
        let columns: SQLiteColumns
    }

    /// Statements whose text varies with a batch's size (`IN (?, ?, …)`) come in many lengths; past this many, new
    /// ones are prepared for one use.
    static let statementsKeptMax = 1_024

    private init(handle: OpaquePointer?, thread: SQLiteThread) {
        self.handle = handle
        self.thread = thread
    }

    /// Opens (creating if needed) the file at `path` on a thread of its own.
    static func open(path: String) async throws -> SQLiteDatabase {
        let thread = SQLiteThread()
        do {
            return try await thread.run {
                _ = initialized
                var handle: OpaquePointer?
                let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
                let code = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
                guard code == SQLITE_OK else {
                    let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) }
                    sqlite_nio_sqlite3_close_v2(handle)
                    throw SQLiteFailure(code: code, message: message ?? "cannot open the database")
                }
                return SQLiteDatabase(handle: handle, thread: thread)
            }
        } catch {
            try? await thread.shutdown()
            throw error
        }
    }

    /// SQLite's global set-up, once per process, before any connection opens.
    private static let initialized: Void = { _ = sqlite_nio_sqlite3_initialize() }()

    /// Runs `body` with this connection on its thread.
    func run<Value: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> Value) async throws -> Value {
        try await thread.run { try body(self) }
    }

    /// Runs one statement and returns its rows. Only on ``thread``.
    func rows(_ sqlStatement: SQLStatement) throws -> [SQLiteRowValues] {
        thread.assertCurrent()
        let (prepared, kept) = try prepare(sqlStatement.text { _ in "?" })
        let statement = prepared.statement
        defer {
            if kept {
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_clear_bindings(statement)
            } else {
                sqlite_nio_sqlite3_finalize(statement)
            }
        }
        for (offset, value) in sqlStatement.binds.enumerated() {
            let index = Int32(offset + 1)
            let code =
                switch value {
                case .integer(let integer): sqlite_nio_sqlite3_bind_int64(statement, index, integer)
                case .text(let text):
                    sqlite_nio_sqlite3_bind_text64(
                        statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
                case .null: sqlite_nio_sqlite3_bind_null(statement, index)
                }
            try check(code)
        }
        var rows: [SQLiteRowValues] = []
        let columns = prepared.columns
        while true {
            let code = sqlite_nio_sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw failure(code) }
            rows.append(
                SQLiteRowValues(columns: columns, values: try (0..<columns.count).map { try value(statement, $0) }))
        }
    }

    /// Runs one statement whose rows, if any, are not needed. Only on ``thread``.
    func exec(_ statement: SQLStatement) throws {
        _ = try rows(statement)
    }

    /// Finalizes every kept statement and closes the connection. Only on ``thread``; nothing may run after it.
    func close() {
        thread.assertCurrent()
        for prepared in statements.values { sqlite_nio_sqlite3_finalize(prepared.statement) }
        statements = [:]
        sqlite_nio_sqlite3_close_v2(handle)
        handle = nil
    }

    /// Closes the connection on its thread, then ends the thread.
    func closeAndStop() async throws {
        try await run { $0.close() }
        try await thread.shutdown()
    }

    // MARK: Statements

    /// The statement for `sql`: a kept one, or one prepared now (and kept while there is room).
    private func prepare(_ sql: String) throws -> (prepared: Prepared, kept: Bool) {
        if let prepared = statements[sql] { return (prepared, true) }
        let keep = statements.count < Self.statementsKeptMax
        var statement: OpaquePointer?
        // What follows the first statement, read while the text it points into is alive.
        let (code, rest) = sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let code = sqlite_nio_sqlite3_prepare_v3(
                handle, text, -1, keep ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0, &statement, &tail)
            return (code, tail.map { String(cString: $0) } ?? "")
        }
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        guard rest.allSatisfy(\.isWhitespace) else {
            sqlite_nio_sqlite3_finalize(statement)
            throw SQLiteFailure(code: SQLITE_MISUSE, message: "one statement at a time: \(sql)")
        }
        let prepared = Prepared(statement: statement, columns: SQLiteColumns(statement))
        if keep { statements[sql] = prepared }
        return (prepared, keep)
    }

    private func value(_ statement: OpaquePointer, _ column: Int) throws -> SQLValue {
        let index = Int32(column)
        switch sqlite_nio_sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite_nio_sqlite3_column_int64(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { throw failure(SQLITE_NOMEM) }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_NULL: return .null
        default:
            throw SQLiteFailure(
                code: SQLITE_MISMATCH, message: "column \(column) holds a type this schema never stores")
        }
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> SQLiteFailure {
        SQLiteFailure(code: code, message: sqlite_nio_sqlite3_errmsg(handle).map { String(cString: $0) } ?? "")
    }

    /// Tells SQLite to copy bound text (`SQLITE_TRANSIENT`, a macro Swift does not import).
    private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// An error SQLite reported: its extended result code and message.
struct SQLiteFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    var description: String { "SQLite error \(code): \(message)" }
}

/// The column names of one statement's rows, shared by every row it returns.
final class SQLiteColumns: Sendable {
    let count: Int
    private let indexes: [String: Int]

    init(_ statement: OpaquePointer) {
        count = Int(sqlite_nio_sqlite3_column_count(statement))
        var indexes: [String: Int] = [:]
        for index in 0..<count {
            if let name = sqlite_nio_sqlite3_column_name(statement, Int32(index)) {
                indexes[String(cString: name)] = index
            }
        }
        self.indexes = indexes
    }

    func index(of column: String) -> Int? { indexes[column] }
}

/// One row, read from SQLite into ``SQLValue``s.
struct SQLiteRowValues: SQLRow {
    let columns: SQLiteColumns
    let values: [SQLValue]

    func value(_ column: String) -> SQLValue? { columns.index(of: column).map { values[$0] } }
}

/// A thread of its own for one SQLite connection, which is also a task executor: a task that prefers it runs its
/// code there, so blocking SQLite calls in that code block no thread of Swift's shared pool.
final class SQLiteThread: TaskExecutor {
    private let pool = NIOThreadPool(numberOfThreads: 1)
    /// The pool's one thread, once known: for the checks that connection calls run on it.
    private let threadID = Mutex<pthread_t?>(nil)

    init() {
        pool.start()
        pool.submit { [self] _ in threadID.withLock { $0 = pthread_self() } }
    }

    /// Runs `body` on the thread and returns its result.
    func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await pool.runIfActive(body)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        pool.submit { state in
            // Once the thread has stopped (nothing should prefer it by then), the job still runs, on Swift's pool.
            guard case .active = state else { return globalConcurrentExecutor.enqueue(job) }
            job.runSynchronously(on: executor)
        }
    }

    /// Checks, in debug builds, that the caller runs on this thread.
    func assertCurrent() {
        assert(
            threadID.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false },
            "an SQLite connection is used off its own thread")
    }

    /// Ends the thread once the work already given to it is done.
    func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
