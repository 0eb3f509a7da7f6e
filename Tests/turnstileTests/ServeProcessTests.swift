import Foundation
import NIOHTTP1
import Testing
import TurnstileTestSupport

/// `turnstile serve` as a user runs it: the built executable, in its own process.
@Suite("turnstile serve process", .timeLimit(.minutes(1)))
struct ServeProcessTests {
    @Test("prints the URL it listens on, serves, and exits 0 on SIGTERM")
    func servesAndStopsCleanly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let process = Process()
        process.executableURL = TurnstileProcess.executable
        process.arguments = [
            "serve", "--port", "0", "--database", directory.appendingPathComponent("t.sqlite").path,
            "--password-hash-rounds", "1", "--log-level", "warning",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.interrupt() } }

        // The first line names the port; reading ends at EOF if the process dies instead.
        let firstLine = try #require(await Self.firstLine(of: output.fileHandleForReading))
        let port = try #require(firstLine.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        #expect(firstLine.hasPrefix("Turnstile listening on http://127.0.0.1:"))

        let health = try await send(.init(.GET, "/health"), to: port)
        #expect(health.status == 200)
        let user = try await send(
            .json(.POST, "/api/v1/auth/register", ["email": "p@t.io", "username": "proc", "password": "password1"]),
            to: port)
        #expect(user.status == 201)

        process.terminate()
        await Self.waitForExit(process)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("t.sqlite.jwt-secret").path))
    }

    private static func firstLine(of handle: FileHandle) async -> String? {
        await Task.detached {
            var bytes = Data()
            while !bytes.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                bytes.append(chunk)
            }
            return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        }.value
    }

    private static func waitForExit(_ process: Process) async {
        await Task.detached { process.waitUntilExit() }.value
    }
}
