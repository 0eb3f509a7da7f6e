import Foundation
import Synchronization
import TurnstileLoad

/// The `turnstile` executable that `swift test` built beside the test bundle, run as a user runs it.
enum TurnstileProcess {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0])
        .deletingLastPathComponent().appendingPathComponent("turnstile")

    /// Runs `turnstile` with `arguments` to the end; returns its exit status and everything it printed.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Read to the end before waiting, so a full pipe can never stall the child.
        let data = await onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
        await onOwnThread { process.waitUntilExit() }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `turnstile` with `arguments` to the end; returns its exit status, standard output and standard error
    /// apart.
    static func runApart(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Both pipes are read to the end at once, so neither can fill and stall the child.
        async let errorData = onOwnThread { errors.fileHandleForReading.readDataToEndOfFile() }
        let outputData = await onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
        let errorText = String(decoding: await errorData, as: UTF8.self)
        await onOwnThread { process.waitUntilExit() }
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), errorText)
    }
}

/// A `turnstile` process under way, whose output a test reads as it comes (standard output and error together).
final class RunningTurnstile: Sendable {
    private let process: Process
    private let output = Output()
    private let reader: Task<Void, Never>

    /// What the process printed so far, and whether it ended.
    private final class Output: Sendable {
        private let state = Mutex((text: "", ended: false))

        func append(_ data: Data) { state.withLock { $0.text += String(decoding: data, as: UTF8.self) } }
        func end() { state.withLock { $0.ended = true } }
        var current: (text: String, ended: Bool) { state.withLock { $0 } }
    }

    /// Starts `turnstile` with `arguments`.
    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = TurnstileProcess.executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        self.process = process
        let output = self.output
        reader = Task.detached {
            await onOwnThread {
                while case let data = pipe.fileHandleForReading.availableData, !data.isEmpty {
                    output.append(data)
                }
                output.end()
            }
        }
    }

    /// Everything printed so far.
    var text: String { output.current.text }

    /// The first printed line containing `fragment`, once it is printed; throws if the output ends or `limit`
    /// passes first.
    func line(containing fragment: String, within limit: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let (text, ended) = output.current
            if let line = text.split(separator: "\n").first(where: { $0.contains(fragment) }) { return String(line) }
            if ended { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessOutputError(expected: fragment, output: text)
    }

    /// Starts `turnstile` with `arguments`, runs `body` with it, and stops it afterwards, whether `body` throws or
    /// not.
    static func with<Result>(
        _ arguments: [String], _ body: (RunningTurnstile) async throws -> Result
    ) async throws -> Result {
        let process = try RunningTurnstile(arguments)
        do {
            let result = try await body(process)
            await process.stop()
            return result
        } catch {
            await process.stop()
            throw error
        }
    }

    /// Stops the process (SIGTERM) if it still runs, and waits for it and its output to end.
    func stop() async {
        if process.isRunning { process.terminate() }
        await onOwnThread { self.process.waitUntilExit() }
        await reader.value
    }
}

struct ProcessOutputError: Error, CustomStringConvertible {
    let expected: String
    let output: String
    var description: String { "no line with '\(expected)' in the output:\n\(output)" }
}
