import Foundation
import TurnstileLoad

/// `turnstile serve` as a child process, for the tests that must kill or restart a service; and what the bundled
/// scenarios that start one are given (this executable, a fresh JWT secret).
final class ChildService: Sendable {
    let process: Process
    let port: Int

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// This very executable, whose `serve` the children run.
    static let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])

    /// Runs `executable` with a whole `serve` command line and returns once it names its port on its first line.
    static func launch(_ executable: URL, _ arguments: [String]) async throws -> ChildService {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try await process.runWithSignalsUnblocked()
        let line = await firstLine(of: output.fileHandleForReading)
        guard let line,
            let port = line.split(separator: ":").dropFirst(2).first.flatMap({ Int($0.prefix(while: \.isNumber)) })
        else {
            if process.isRunning { process.interrupt() }
            throw ChildServiceError(description: "turnstile serve did not start; it said: \(line ?? "nothing")")
        }
        return ChildService(process: process, port: port)
    }

    /// A fresh JWT secret for a child service, passed on its command line so that a restart keeps its tokens valid.
    static func randomSecret() -> String {
        String((0..<48).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    /// The first line `handle` yields, or nil if it ends first (the process died before naming its port).
    static func firstLine(of handle: FileHandle) async -> String? {
        await onOwnThread {
            var bytes = Data()
            while !bytes.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                bytes.append(chunk)
            }
            return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        }
    }

    /// Kills the service at once, as a crash or `kill -9` would: no graceful shutdown, nothing flushed.
    func kill() async {
        Foundation.kill(process.processIdentifier, SIGKILL)
        await waitForExit()
    }

    /// Stops the service gracefully (SIGTERM) and waits for it.
    func stop() async {
        if process.isRunning { process.terminate() }
        await waitForExit()
    }

    func waitForExit() async {
        await Self.waitForExit(process)
    }

    /// Waits for `process` to end, on a thread of its own.
    static func waitForExit(_ process: Process) async {
        await onOwnThread { process.waitUntilExit() }
    }
}

struct ChildServiceError: Error, CustomStringConvertible {
    let description: String
}
