import Foundation
import Logging
import TurnstileSQLite

/// Runs `body` with a real store that no server serves yet: SQLite on a file in a fresh temporary folder, unsynced
/// (nothing here survives the test), removed afterwards. For tests of the router in process, which run the store as
/// the application's service.
public func withScratchStore<Result>(_ body: (SQLiteStore) async throws -> Result) async throws -> Result {
    let folder = try temporaryFolder("turnstile-scratch")
    defer { try? FileManager.default.removeItem(at: folder) }
    var logger = Logger(label: "turnstile.test")
    logger.logLevel = .warning
    let store = try await SQLiteStore.open(
        SQLiteStoreConfiguration(
            path: folder.appendingPathComponent("scratch.sqlite").path, durability: .off,
            timeouts: .patient),
        logger: logger)
    return try await body(store)
}
