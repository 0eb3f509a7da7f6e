import Foundation
import TurnstileLoad

/// A PostgreSQL cluster of a test's own, on 127.0.0.1, made with `.ci/pg-cluster.sh`: unlike the shared server of
/// ``PostgresTestDatabase``, a test may stop and start it (an outage) without disturbing any other test.
public struct PostgresCluster: Sendable {
    public let directory: URL
    public let port: Int

    /// The URL `turnstile serve --database` takes.
    public var url: String { "postgres://turnstile@127.0.0.1:\(port)/postgres" }

    /// Whether PostgreSQL's server programs are installed here (`.ci/run` installs them).
    public static let available = (try? script(["bin"])) != nil

    /// Makes and starts a cluster, runs `body` with it, then stops it (as a crash: nothing is kept) and removes it.
    public static func with<Result>(_ body: (PostgresCluster) async throws -> Result) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-pg-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await onOwnThread { try script(["init", directory.path]) }
        // Below Linux's ephemeral range (32768 and up): the thousands of client sockets of the load tests running
        // beside this one take their local ports from there, and one of them could hold the cluster's port when it
        // starts, or restarts after an outage.
        let cluster = PostgresCluster(directory: directory, port: Int.random(in: 24_000..<32_000))
        try await cluster.start()
        do {
            let result = try await body(cluster)
            try? await cluster.stop(mode: "immediate")
            return result
        } catch {
            try? await cluster.stop(mode: "immediate")
            throw error
        }
    }

    /// Starts the cluster and returns once it accepts connections.
    public func start() async throws {
        let (path, port) = (directory.path, port)
        try await onOwnThread { try Self.script(["start", path, String(port)]) }
    }

    /// Stops the cluster: `fast` (clients are disconnected, work in progress rolled back) unless told otherwise.
    public func stop(mode: String = "fast") async throws {
        let path = directory.path
        try await onOwnThread { try Self.script(["stop", path, mode]) }
    }

    /// Runs the script to its end. Its output goes to a file, not a pipe: the server it starts inherits the
    /// descriptors, and a pipe would then never reach its end.
    @discardableResult
    private static func script(_ arguments: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-pg-cluster-\(UUID()).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)  // the handle below fails if it did not
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [scriptPath] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else { throw ClusterError(arguments: arguments, output: text) }
        return text
    }

    private static let scriptPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".ci/pg-cluster.sh").path

    struct ClusterError: Error, CustomStringConvertible {
        let arguments: [String]
        let output: String
        var description: String { "pg-cluster.sh \(arguments.joined(separator: " ")) failed: \(output)" }
    }
}
