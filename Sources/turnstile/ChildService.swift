import Foundation

/// `turnstile serve` as a child process of this very executable, for the checks that must kill or restart the
/// service (crash durability) or put something between it and its database (faults).
final class ChildService: Sendable {
    let process: Process
    let port: Int

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// Starts `turnstile serve` with `arguments` (plus `--port 0`) and returns once it names its port.
    static func start(_ arguments: [String]) async throws -> ChildService {
        let process = Process()
        process.executableURL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["serve", "--port", "0", "--log-level", "critical"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = await onOwnThread {
            var bytes = Data()
            while !bytes.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return nil as String? }
                bytes.append(chunk)
            }
            return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        }
        guard let line,
            let port = line.split(separator: ":").dropFirst(2).first.flatMap({ Int($0.prefix(while: \.isNumber)) })
        else {
            if process.isRunning { process.interrupt() }
            throw ChildServiceError(description: "turnstile serve did not start; it said: \(line ?? "nothing")")
        }
        return ChildService(process: process, port: port)
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

    private func waitForExit() async {
        let process = self.process
        await onOwnThread { process.waitUntilExit() }
    }
}

struct ChildServiceError: Error, CustomStringConvertible {
    let description: String
}
