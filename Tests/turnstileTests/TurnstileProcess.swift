import Foundation
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
