import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A process a scenario owns, with its command line and readiness written in: started, waited for, signalled,
/// restarted and stopped. Its output (standard output and error together) goes to a log file of its own, one
/// section per life, never to the console: at most ``LoadLimits/processLogBytesMax`` a life.
final class OwnedProcess: Sendable {
    enum Readiness: Sendable {
        case url(LoadTarget, path: String)
        case port(HostPort)
        case log(String)
    }

    let name: String
    let arguments: [String]
    let environment: [String: String]
    let readiness: Readiness?
    let readyTimeout: TimeAmount
    let stopTimeout: TimeAmount
    let logURL: URL
    /// The folder it runs in: its scenario's.
    let folder: URL?
    /// Whether its resources are sampled beside the load.
    let watch: Bool
    let position: SourcePosition

    private struct Life {
        var process: Process?
        var lives = 0
        /// Whether this life's output has shown the readiness line.
        var sawReadyLine = false
        var readyLineWaiter: CheckedContinuation<Bool, Never>?
        var outputEnded = false
    }

    private let life = Mutex(Life())

    init(
        _ spec: ScenarioFile.OwnedProcess, in scope: some ScenarioScope, folder: URL?, logFolder: URL
    ) throws(ScenarioError) {
        name = spec.name
        self.folder = folder
        watch = spec.watch
        arguments = try spec.command.map { template throws(ScenarioError) in try template.render(in: scope) }
        var environment: [String: String] = [:]
        for (name, value) in spec.environment { environment[name] = try value.render(in: scope) }
        self.environment = environment
        switch spec.ready {
        case .url(let template)?:
            let url = try template.render(in: scope)
            do {
                let (target, path) = try LoadTarget.splitting(url: url)
                readiness = .url(target, path: path)
            } catch {
                throw ScenarioError("process '\(spec.name)': 'ready' URL \(error)", at: template.origin)
            }
        case .port(let template)?:
            let text = try template.render(in: scope)
            guard let address = HostPort(text) else {
                throw ScenarioError("process '\(spec.name)': '\(text)' is not HOST:PORT", at: template.origin)
            }
            readiness = .port(address)
        case .log(let text)?: readiness = .log(text)
        case nil: readiness = nil
        }
        readyTimeout = spec.readyTimeout
        stopTimeout = spec.stopTimeout
        logURL = logFolder.appendingPathComponent("\(spec.name).log")
        position = spec.position
        guard let executable = arguments.first, CommandLookup.find(executable, in: folder) != nil else {
            throw ScenarioError(
                "process '\(spec.name)': '\(arguments.first ?? "")' is not a command here (not found on PATH)",
                at: spec.position)
        }
    }

    /// The command line as progress lines show it: the value of a flag whose last word says it is secret
    /// (`--jwt-secret`, `--password`, `--token`, `--api-key`) is left out.
    var displayedCommand: String {
        var words: [String] = []
        var hideNext = false
        for argument in arguments {
            if hideNext {
                words.append("[redacted]")
                hideNext = false
                continue
            }
            let name = argument.lowercased().prefix { $0 != "=" }
            let lastWord = name.split(whereSeparator: { $0 == "-" || $0 == "_" }).last.map(String.init) ?? ""
            let secret = name.hasPrefix("-") && ["secret", "password", "token", "key", "apikey"].contains(lastWord)
            if secret, let equals = argument.firstIndex(of: "=") {
                words.append(argument[...equals] + "[redacted]")
            } else {
                words.append(argument)
                hideNext = secret
            }
        }
        return words.joined(separator: " ")
    }

    /// The running process's id; nil when it is not running.
    var pid: Int32? {
        life.withLock { life in life.process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    /// Starts the process and returns once it is ready; throws, with what its log says, when it ends first or is not
    /// ready within its timeout.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLookup.find(arguments[0], in: folder)!)
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let number = life.withLock { life in
            life.lives += 1
            life.sawReadyLine = false
            life.outputEnded = false
            life.process = process
            return life.lives
        }
        let log = try Self.openLog(logURL)
        log.write(Data("--- \(name), life \(number): \(displayedCommand)\n".utf8))
        OwnedProcesses.stopAllOnInterruption()
        do { try await process.runWithSignalsUnblocked() } catch {
            throw ScenarioError("process '\(name)' could not start: \(error.localizedDescription)", at: position)
        }
        OwnedProcesses.started(process)
        copyOutput(output.fileHandleForReading, to: log, life: number)
        try await waitUntilReady(process)
    }

    /// Copies the process's output to its log on a thread of its own, watching for the readiness line. What it sees
    /// counts for life `number` only: the output of a life a restart ended may end after the next life began.
    private func copyOutput(_ handle: FileHandle, to log: FileHandle, life number: Int) {
        let line: [UInt8]? = if case .log(let text) = readiness { Array(text.utf8) } else { nil }
        Thread { [self] in
            var tail: [UInt8] = []
            var written = 0
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                if written < LoadLimits.processLogBytesMax {
                    let kept = chunk.prefix(LoadLimits.processLogBytesMax - written)
                    log.write(kept)
                    written += kept.count
                    if written == LoadLimits.processLogBytesMax {
                        log.write(Data("\n--- output past \(written >> 20) MiB dropped\n".utf8))
                    }
                }
                guard let line else { continue }
                // Keep just enough of the output to find the line across chunk boundaries.
                tail += chunk
                if tail.count > line.count * 2 + 4096 { tail.removeFirst(tail.count - line.count - 4096) }
                if tail.firstRange(of: line) != nil {
                    tail = []
                    settleReadyLine(life: number, seen: true)
                }
            }
            try? log.close()
            settleReadyLine(life: number, seen: false)
        }.start()
    }

    /// Life `number`'s output showed the readiness line (`seen`), or ended without it: so noted, and a waiter told.
    /// A life a restart ended has nothing more to say.
    private func settleReadyLine(life number: Int, seen: Bool) {
        let waiter = life.withLock { life -> CheckedContinuation<Bool, Never>? in
            guard life.lives == number else { return nil }
            if seen { life.sawReadyLine = true } else { life.outputEnded = true }
            defer { life.readyLineWaiter = nil }
            return life.readyLineWaiter
        }
        waiter?.resume(returning: seen)
    }

    private func waitUntilReady(_ process: Process) async throws {
        let deadline = NIODeadline.now() + readyTimeout
        let ready: Bool
        switch readiness {
        case nil:
            ready = true
        case .log:
            ready = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await self.readyLine() }
                group.addTask {
                    try? await Task.sleep(for: .nanoseconds(self.readyTimeout.nanoseconds))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                self.abandonReadyLineWait()
                return first
            }
        case .port(let address):
            ready = await Self.poll(until: deadline, while: process) {
                await Self.accepts(address)
            }
        case .url(let target, let path):
            ready = await Self.poll(until: deadline, while: process) {
                await Self.answers(target, path: path)
            }
        }
        guard ready else {
            let ended = !process.isRunning
            throw ScenarioError(
                "process '\(name)' "
                    + (ended
                        ? "ended (status \(process.terminationStatus)) before it was ready"
                        : "was not ready within \(ScheduledFault.format(readyTimeout))")
                    + "; its output is in \(logURL.path): \(Self.tail(of: logURL))", at: position)
        }
    }

    /// True once the readiness line has appeared in this life's output; false when the output ended first.
    private func readyLine() async -> Bool {
        await withCheckedContinuation { continuation in
            let now = life.withLock { life -> Bool? in
                if life.sawReadyLine { return true }
                if life.outputEnded { return false }
                life.readyLineWaiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    private func abandonReadyLineWait() {
        let waiter = life.withLock { life in
            defer { life.readyLineWaiter = nil }
            return life.readyLineWaiter
        }
        waiter?.resume(returning: false)
    }

    /// Tries `check` every 50 ms until it holds, the deadline passes or the process ends.
    private static func poll(
        until deadline: NIODeadline, while process: Process, _ check: () async -> Bool
    ) async -> Bool {
        while NIODeadline.now() < deadline, process.isRunning {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func accepts(_ address: HostPort) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(1)).connect(host: address.host, port: address.port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }

    private static func answers(_ target: LoadTarget, path: String) async -> Bool {
        let session = APISession(
            target: target, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            timeouts: .init(connect: .seconds(1), read: .seconds(2), response: .seconds(2)))
        let response = try? await session.call(LoadRequest(endpoint: "ready", method: .GET, path: path))
        return (response?.status ?? 500) < 500
    }

    /// Sends `signal` to the process and every process it started (a shell's command, a server's workers).
    @discardableResult
    func signal(_ signal: Int32) -> Int32? {
        guard let pid else { return nil }
        ProcessTree.signal(pid, signal)
        return pid
    }

    /// Sends the signal that stops the process (KILL when `kill`, else TERM) without waiting for it to end; returns
    /// its PID, nil when it was not running.
    func signalStop(kill: Bool) -> Int32? {
        guard let pid else { return nil }
        ProcessTree.signal(pid, kill ? SIGKILL : SIGTERM)
        return pid
    }

    /// Stops the process: KILL at once when `kill`, else TERM and, after its stop timeout, KILL. Returns once it has
    /// ended; nothing happens when it is not running.
    func stop(kill: Bool = false) async {
        guard let process = life.withLock({ $0.process }), process.isRunning else { return }
        ProcessTree.signal(process.processIdentifier, kill ? SIGKILL : SIGTERM)
        await process.endsWithin(stopTimeout)
    }

    /// The log, opened to append: every write lands at its end, so a life a restart ended, whose output may still
    /// be coming, cannot write over the next life's lines.
    private static func openLog(_ url: URL) throws -> FileHandle {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ScenarioError("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// The last few hundred bytes of a log, on one line.
    static func tail(of url: URL) -> String {
        guard let data = try? Data(contentsOf: url) else { return "(no output)" }
        let text = String(decoding: data.suffix(400), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " | ")
        return text.isEmpty ? "(no output)" : text
    }
}

/// Every owned process running now, of every scenario: what an interrupted engine stops before it exits.
enum OwnedProcesses {
    private static let running = Mutex(Set<Int32>())
    private static let installed = Mutex(false)
    /// The pipe the signal handler writes the signal's number to (a handler may do little more); made before the
    /// handler is installed and never changed after.
    nonisolated(unsafe) private static var interruption: (read: Int32, write: Int32) = (-1, -1)

    /// Counts `process` as running until it ends.
    static func started(_ process: Process) {
        let pid = process.processIdentifier
        running.withLock { _ = $0.insert(pid) }
        process.terminationHandler = { _ in _ = running.withLock { $0.remove(pid) } }
    }

    /// From the first owned process on, SIGINT and SIGTERM to the engine stop every owned process (TERM, to each
    /// one's tree) before the engine exits with 128 + the signal: an interrupted run leaves nothing of its own
    /// running. Idempotent.
    ///
    /// A handler, not an ignored signal watched by a dispatch source: an ignored signal stays ignored in every child
    /// the engine starts afterwards, and a service that ignores TERM could not be stopped by it.
    static func stopAllOnInterruption() {
        guard
            installed.withLock({ done in
                defer { done = true }; return !done
            })
        else { return }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        // Not inherited by the processes started afterwards.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let readEnd = ends[0]
        interruption = (readEnd, ends[1])
        Thread {
            var number: UInt8 = 0
            guard read(readEnd, &number, 1) == 1 else { return }
            for pid in running.withLock({ $0 }) { ProcessTree.signal(pid, SIGTERM) }
            exit(128 + Int32(number))
        }.start()
        for number in [SIGINT, SIGTERM] {
            _ = signal(number) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(OwnedProcesses.interruption.write, &byte, 1)
            }
        }
    }
}

/// Finds commands as a shell would: a path as given, a bare name on `PATH`.
enum CommandLookup {
    /// The command's path; a relative path (`./app`) is taken from `folder` when given.
    static func find(_ command: String, in folder: URL? = nil) -> String? {
        if command.contains("/") {
            let path =
                command.hasPrefix("/") || folder == nil ? command : folder!.appendingPathComponent(command).path
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The command a shell line runs first, when it can be told (not a builtin, an assignment or a compound
    /// command): the word a "not found" check should look up.
    static func firstCommand(ofShellLine line: String) -> String? {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let word = words.first(where: { !$0.contains("=") }) else { return nil }
        let shellWords: Set = [
            "cd", "exec", "export", "set", "test", "[", "if", "for", "while", "case", "{", "(", "!", "true", "false",
            "echo", "printf", "kill", "sleep", "wait", "command", "eval", ".", "source", "trap", "until", "exit",
        ]
        guard !shellWords.contains(word), word.first.map({ $0.isLetter || $0 == "/" || $0 == "." }) ?? false else {
            return nil
        }
        return word
    }
}

/// A process and the processes it started, as Linux's `/proc` lists them.
public enum ProcessTree {
    /// `pid` and its descendants, parents first. Just `pid` where `/proc` cannot be read.
    ///
    /// Read from each member's `/proc/PID/task/TID/children`: a walk over the tree alone, quick enough that a kill
    /// lands when it is meant to (a scan of every process on a busy machine took long enough for a killed service to
    /// answer every request first). Where the kernel has no such file, every process's parent is read instead.
    public static func members(of pid: Int32) -> [Int32] {
        if let members = membersByChildren(of: pid) { return members }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [pid] }
        var children: [Int32: [Int32]] = [:]
        for entry in entries {
            guard let child = Int32(entry), let parent = parentID(of: child) else { continue }
            children[parent, default: []].append(child)
        }
        var members = [pid]
        var index = 0
        while index < members.count {
            members += children[members[index]] ?? []
            index += 1
        }
        return members
    }

    /// The tree from the kernel's lists of children; nil where they are not kept (`CONFIG_PROC_CHILDREN`).
    private static func membersByChildren(of pid: Int32) -> [Int32]? {
        guard FileManager.default.fileExists(atPath: "/proc/\(pid)/task/\(pid)/children") else { return nil }
        var members = [pid]
        var index = 0
        while index < members.count, members.count < 65_536 {
            let member = members[index]
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(member)/task")) ?? []
            for task in tasks {
                guard let text = try? String(contentsOfFile: "/proc/\(member)/task/\(task)/children", encoding: .utf8)
                else { continue }
                members += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
            }
            index += 1
        }
        return members
    }

    /// The parent of `pid`, from `/proc/PID/stat` (its fourth field, after the name in brackets).
    static func parentID(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// Sends `signal` to `pid` and its descendants, parents first (so a stopped parent cannot start new children
    /// before they are stopped too).
    public static func signal(_ pid: Int32, _ signal: Int32) {
        for member in members(of: pid) { kill(member, signal) }
    }
}
