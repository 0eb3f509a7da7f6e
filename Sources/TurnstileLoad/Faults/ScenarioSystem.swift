import Foundation
import NIOCore
import Synchronization
import TurnstileReport

/// The parts of the system under test a scenario owns or reaches into: the processes it starts, the proxies it puts
/// on links, and the faults it puts on them, phase by phase.
///
/// Everything the file names is checked before anything starts (commands on `PATH`, PIDs that exist, addresses);
/// then the proxies listen, then the processes start in order, each waited for until ready. ``stop()`` stops the
/// processes in reverse order (TERM, then KILL) and closes the proxies.
final class ScenarioSystem: Sendable {
    let processes: [String: OwnedProcess]
    private let order: [String]
    let proxies: [String: (proxy: FaultProxy, listen: HostPort, upstream: HostPort)]
    let marks = FaultMarks()
    /// Each fault with its timing, the variables written in.
    private let faults: [ScheduledStep]
    private let globals: [String: ScenarioValue]
    private let progress: ProgressReporter?

    private init(
        processes: [OwnedProcess], proxies: [String: (proxy: FaultProxy, listen: HostPort, upstream: HostPort)],
        faults: [ScheduledStep], globals: [String: ScenarioValue], progress: ProgressReporter?
    ) {
        self.processes = Dictionary(uniqueKeysWithValues: processes.map { ($0.name, $0) })
        order = processes.map(\.name)
        self.proxies = proxies
        self.faults = faults
        self.globals = globals
        self.progress = progress
    }

    /// Checks what the scenario names, starts its proxies and processes, and returns once every process is ready.
    static func start(
        _ scenario: ScenarioFile, globals: [String: ScenarioValue], logFolder: URL, progress: ProgressReporter?
    ) async throws -> ScenarioSystem {
        let scope = UserScope(user: [:], globals: globals)
        var processes: [OwnedProcess] = []
        for spec in scenario.processes {
            if let when = spec.when, !(try when.isTrue(in: scope)) { continue }
            processes.append(try OwnedProcess(spec, in: scope, folder: scenario.folder, logFolder: logFolder))
        }
        try check(scenario.faults, in: scope, started: Set(processes.map(\.name)))
        let faults = try scenario.faults.map { fault throws(ScenarioError) in
            let (start, length) = try fault.timing(in: scope)
            return ScheduledStep(step: fault, start: start, length: length)
        }
        var addresses: [(ScenarioFile.LinkProxy, HostPort, HostPort)] = []
        for link in scenario.proxies {
            let listen = try link.listen.render(in: scope)
            let upstream = try link.upstream.render(in: scope)
            guard let listenAddress = HostPort(listen), let upstreamAddress = HostPort(upstream) else {
                throw ScenarioError(
                    "proxy '\(link.name)': 'listen' and 'upstream' must be HOST:PORT, not '\(listen)' and "
                        + "'\(upstream)'", at: link.position)
            }
            addresses.append((link, listenAddress, upstreamAddress))
        }
        do {
            try FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        } catch {
            throw ScenarioError("cannot make \(logFolder.path) for the processes' logs: \(error.localizedDescription)")
        }
        var proxies: [String: (proxy: FaultProxy, listen: HostPort, upstream: HostPort)] = [:]
        do {
            for (link, listen, upstream) in addresses {
                do {
                    let proxy = try await FaultProxy.start(
                        listeningOn: (listen.host, listen.port), upstream: (upstream.host, upstream.port),
                        schedule: [])
                    proxies[link.name] = (proxy, listen, upstream)
                } catch {
                    throw ScenarioError("proxy '\(link.name)' cannot listen on \(listen): \(error)", at: link.position)
                }
            }
            for process in processes {
                progress?.note("starting \(process.name): \(process.displayedCommand)")
                try await process.start()
                // The resource charts follow the last process started: the service under test, as a file lists it.
                if let pid = process.pid {
                    progress?.targetStarted(pid, describe: "process '\(process.name)'")
                    if process.watch, process !== processes.last { progress?.processStarted(pid, name: process.name) }
                }
            }
        } catch {
            for process in processes.reversed() { await process.stop() }
            for (proxy, _, _) in proxies.values { await proxy.stop() }
            throw error
        }
        return ScenarioSystem(
            processes: processes, proxies: proxies, faults: faults, globals: globals, progress: progress)
    }

    /// What only the running system can show wrong in a fault, before any load: a PID that names no process, a
    /// command that is not on `PATH`.
    private static func check(
        _ faults: [ScenarioFile.FaultStep], in scope: UserScope, started: Set<String>
    ) throws(ScenarioError) {
        for fault in faults {
            switch fault.action {
            case .restart(let name, _), .signal(_, _, .process(let name)):
                guard started.contains(name) else {
                    throw ScenarioError(
                        "fault '\(fault.name)' needs process '\(name)', which this run does not start (its 'when' "
                            + "does not hold)", at: fault.position)
                }
            case .signal(_, _, .pid(let pid)):
                guard kill(pid, 0) == 0 || errno == EPERM else {
                    throw ScenarioError("fault '\(fault.name)': no process has PID \(pid)", at: fault.position)
                }
            case .command(let start, let end, _):
                for template in [start, end].compactMap({ $0 }) {
                    let line = try template.render(in: scope)
                    if let command = CommandLookup.firstCommand(ofShellLine: line), CommandLookup.find(command) == nil {
                        throw ScenarioError(
                            "fault '\(fault.name)': '\(command)' is not a command here (not found on PATH)",
                            at: template.origin)
                    }
                }
            default: break
            }
        }
    }

    /// Stops the processes, last started first, and closes the proxies.
    func stop() async {
        for name in order.reversed() { await processes[name]?.stop() }
        for (proxy, _, _) in proxies.values { await proxy.stop() }
    }

    /// The faults of phase `index`, ready to begin with it; nil when it has none.
    func faults(ofPhase index: Int, named name: String) -> PhaseFaults? {
        let mine = faults.filter { $0.step.phase == index }
        guard !mine.isEmpty else { return nil }
        return PhaseFaults(mine, phase: name, system: self, scope: UserScope(user: [:], globals: globals))
    }

    func note(_ text: String) { progress?.note(text) }

    /// The process started last, which the resource charts follow.
    var lastProcess: String? { order.last }

    /// A process started again as `pid`: its resources are followed anew wherever they were.
    func restarted(_ process: OwnedProcess, pid: Int32) {
        if process.name == lastProcess {
            progress?.targetStarted(pid, describe: "process '\(process.name)', restarted")
        }
        if process.watch, process.name != lastProcess { progress?.processStarted(pid, name: process.name) }
    }
}

/// A fault with its start and length, the variables written in.
struct ScheduledStep: Sendable {
    let step: ScenarioFile.FaultStep
    let start: ScenarioFile.FaultStep.Start
    let length: TimeAmount?
}

/// The faults of one phase while it runs: each waits for its start, does its work, waits for its end and undoes
/// it, marking both instants on the run's timeline.
final class PhaseFaults: Sendable {
    private let faults: [ScheduledStep]
    private let phase: String
    private let system: ScenarioSystem
    private let scope: UserScope
    private let state = Mutex(State())

    private struct State {
        var phaseOver = false
        var phaseStart = NIODeadline.now()
        var tasks: [Task<Outcome, Never>] = []
        /// The pending waits for a fault's start, cancelled when the phase ends first.
        var waits: [Int: Task<Void, any Error>] = [:]
    }

    /// What one fault did: the instants it began and ended (numbers on the timeline), what it ran and said, and why
    /// it could not be carried out, if it could not.
    struct Outcome: Sendable {
        var began: Int?
        var ended: Int?
        var log: [String] = []
        var error: String?
    }

    init(_ faults: [ScheduledStep], phase: String, system: ScenarioSystem, scope: UserScope) {
        self.faults = faults
        self.phase = phase
        self.system = system
        self.scope = scope
    }

    /// The phase begins now: each fault starts waiting for its moment.
    func begin() {
        system.marks.phaseBegins()
        let start = NIODeadline.now()
        let tasks = faults.indices.map { index in Task { await self.perform(index, phaseStart: start) } }
        state.withLock { state in
            state.phaseStart = start
            state.tasks = tasks
        }
    }

    /// The phase's executor is done: faults that have not begun never will; those that have run to their end. Returns
    /// each fault's report, and why the run could not be carried out when a fault could not.
    func finish() async -> (reports: [FaultReport], failures: [String]) {
        let phaseEnd = NIODeadline.now()
        let (tasks, waits) = state.withLock { state in
            state.phaseOver = true
            return (state.tasks, Array(state.waits.values))
        }
        system.marks.phaseEnds()
        for wait in waits { wait.cancel() }
        var outcomes: [Outcome] = []
        for task in tasks { outcomes.append(await task.value) }
        let phaseStart = state.withLock { $0.phaseStart }
        let measured = system.marks.phaseSegments()
        var reports: [FaultReport] = []
        var failures: [String] = []
        for (scheduled, outcome) in zip(faults, outcomes) {
            let fault = scheduled.step
            if let error = outcome.error { failures.append("fault '\(fault.name)': \(error)") }
            if outcome.began == nil, outcome.error == nil {
                failures.append(
                    "fault '\(fault.name)' never began: phase '\(phase)' ended first ("
                        + (scheduled.start == .at(.zero) ? "" : "it was to begin \(Self.describe(scheduled.start)); ")
                        + "the phase took \(FaultWindows.secondsText(phaseEnd - phaseStart))s)")
            }
            reports.append(
                FaultWindows(
                    marks: system.marks, segments: measured?.segments ?? FaultSegments(),
                    phaseStart: measured?.phaseStart ?? phaseStart, phaseEnd: phaseEnd
                ).report(for: fault, outcome: outcome, phase: phase, action: describe(fault)))
        }
        return (reports, failures)
    }

    static func describe(_ start: ScenarioFile.FaultStep.Start) -> String {
        switch start {
        case .at(let time): "\(ScheduledFault.format(time)) into it"
        case .afterAnswers(let count): "after \(count) answers"
        }
    }

    /// What the fault does, in words, for the report.
    private func describe(_ fault: ScenarioFile.FaultStep) -> String {
        switch fault.action {
        case .proxy(let link, let effect):
            let addresses = system.proxies[link].map { " (\($0.listen) → \($0.upstream))" } ?? ""
            return "\(effect) on \(link)\(addresses)"
        case .command(let start, let end, _):
            return "`\((try? start.render(in: scope)) ?? start.text)`"
                + (end.map { ", then `\((try? $0.render(in: scope)) ?? $0.text)`" } ?? "")
        case .signal(_, let name, let target):
            return "SIG\(name) to \(describe(target))" + (name == "STOP" ? ", then SIGCONT" : "")
        case .restart(let process, let kill):
            return "restart \(process) (\(kill ? "SIGKILL" : "SIGTERM"), then start it and wait until ready)"
        }
    }

    private func describe(_ target: ScenarioFile.SignalTarget) -> String {
        switch target {
        case .process(let name): name
        case .pid(let pid): "PID \(pid)"
        case .pidFile(let file): "the PID in \((try? file.render(in: scope)) ?? file.text)"
        }
    }

    // MARK: Carrying a fault out

    private func perform(_ index: Int, phaseStart: NIODeadline) async -> Outcome {
        let (fault, start, length) = (faults[index].step, faults[index].start, faults[index].length)
        var outcome = Outcome()
        // A fault whose start is quick (a signal, a proxy's effect) is started by whatever sees its moment come: the
        // answer that makes the count, on its own thread, so that a kill "after 10 answers" lands after 10 answers,
        // not after the 30 that came while a task waited for a thread.
        let begun = BegunBox()
        var quick: (@Sendable () -> Void)?
        if let action = quickStart(fault) {
            let marks = system.marks
            quick = {
                do {
                    let (undo, log) = try action()
                    begun.set(.success(Begun(undo: undo, log: log, at: marks.mark())))
                } catch {
                    begun.set(.failure(error))
                }
            }
        }
        let due = await waitForStart(index, start, phaseStart: phaseStart, trigger: quick)
        // A trigger that ran began the fault, even if the phase ended as it did.
        guard due || begun.value != nil else { return outcome }
        if case .at = start { quick?() }
        system.note("fault \(fault.name) begins: \(describe(fault))")
        // The instants are marked once the fault is on and once it is off again, so that every request of the
        // during-window met the fault, and every request of the after-window met none of it.
        do {
            let started: Begun
            if let result = begun.value {
                started = try result.get()
            } else {
                let undo = try await self.commandStart(fault, log: &outcome.log)
                started = Begun(undo: undo, log: [], at: system.marks.mark())
            }
            outcome.log += started.log
            outcome.began = started.at.number
            if case .restart(let name, let kill) = fault.action {
                try await restart(name, kill: kill, log: &outcome.log)
            } else if let length {
                try? await Self.sleep(until: started.at.at + length)
            }
            try await started.undo?(&outcome.log)
        } catch {
            outcome.error = "\(error)"
        }
        if outcome.began == nil { outcome.began = system.marks.mark().number }
        outcome.ended = system.marks.mark().number
        system.note("fault \(fault.name) ends")
        return outcome
    }

    /// Where a quick start leaves what it did, for the fault's task.
    private final class BegunBox: Sendable {
        private let result = Mutex<Result<Begun, any Error>?>(nil)
        var value: Result<Begun, any Error>? { result.withLock { $0 } }
        func set(_ value: Result<Begun, any Error>) { result.withLock { $0 = value } }
    }

    /// A fault once on: what ends it, what it did, and the instant it was marked.
    private struct Begun: Sendable {
        let undo: Undo?
        let log: [String]
        let at: (number: Int, at: NIODeadline)
    }

    /// Waits for the fault's moment; false when the phase ended first. A count of answers runs `trigger` the moment
    /// it is reached, on the thread that reached it.
    private func waitForStart(
        _ index: Int, _ start: ScenarioFile.FaultStep.Start, phaseStart: NIODeadline, trigger: (@Sendable () -> Void)?
    ) async
        -> Bool
    {
        switch start {
        case .at(let time):
            let wait = Task { try await Self.sleep(until: phaseStart + time) }
            let over = state.withLock { state in
                if !state.phaseOver { state.waits[index] = wait }
                return state.phaseOver
            }
            if over { wait.cancel() }
            _ = try? await wait.value
        case .afterAnswers(let count):
            guard await system.marks.answers(count, trigger: trigger) else { return false }
        }
        return state.withLock { state in
            state.waits[index] = nil
            return !state.phaseOver
        }
    }

    private static func sleep(until deadline: NIODeadline) async throws {
        let left = deadline - .now()
        if left > .zero { try await Task.sleep(for: .nanoseconds(left.nanoseconds)) }
    }

    /// A fault's undoing: what its end does.
    typealias Undo = @Sendable (inout [String]) async throws -> Void

    /// What the fault does at its start when that is quick and cannot wait (a proxy's effect, a signal, the kill of a
    /// restart): it returns what its end must do and what it did. Nil for a command, which runs as a process.
    private func quickStart(
        _ fault: ScenarioFile.FaultStep
    ) -> (@Sendable () throws -> (undo: Undo?, log: [String]))? {
        switch fault.action {
        case .proxy(let link, let effect):
            let proxy = system.proxies[link]?.proxy
            return {
                guard let proxy else { throw SetupError("no proxy '\(link)'") }
                proxy.begin(effect)
                let undo: Undo = { log in
                    proxy.end(effect)
                    log.append("\(effect) on \(link) ended")
                }
                return (undo, ["\(effect) on \(link)"])
            }
        case .command:
            return nil
        case .signal(let number, let name, let target):
            return {
                let pid = try self.pid(of: target)
                ProcessTree.signal(pid, number)
                let log = ["SIG\(name) to PID \(pid) and its children"]
                guard number == SIGSTOP else { return (nil, log) }
                let undo: Undo = { log in
                    ProcessTree.signal(pid, SIGCONT)
                    log.append("SIGCONT to PID \(pid) and its children")
                }
                return (undo, log)
            }
        case .restart(let name, let kill):
            // Only the signal here: the fault is on from the moment it is sent; waiting for the end is the restart's.
            let process = system.processes[name]
            return {
                guard let process else { throw SetupError("no process '\(name)'") }
                let pid = process.signalStop(kill: kill)
                return (nil, ["\(kill ? "SIGKILL" : "SIGTERM") to \(name)" + (pid.map { " (PID \($0))" } ?? "")])
            }
        }
    }

    /// Runs a command fault's start; returns what its end must do.
    private func commandStart(_ fault: ScenarioFile.FaultStep, log: inout [String]) async throws -> Undo? {
        guard case .command(let start, let end, let timeout) = fault.action else { return nil }
        let scope = self.scope
        try await ShellCommand.run(try start.render(in: scope), timeout: timeout, log: &log)
        guard let end else { return nil }
        return { log in try await ShellCommand.run(try end.render(in: scope), timeout: timeout, log: &log) }
    }

    /// Waits for the stopped process to end (KILL after its stop timeout, if TERM did not end it), starts it again
    /// and waits until it is ready.
    private func restart(_ name: String, kill: Bool, log: inout [String]) async throws {
        guard let process = system.processes[name] else { throw SetupError("no process '\(name)'") }
        await process.stop(kill: kill)
        let started = NIODeadline.now()
        try await process.start()
        if let pid = process.pid { system.restarted(process, pid: pid) }
        log.append(
            "\(name) started again (PID \(process.pid.map(String.init) ?? "?")), ready after "
                + "\(FaultWindows.secondsText(.now() - started))s")
    }

    private func pid(of target: ScenarioFile.SignalTarget) throws -> Int32 {
        switch target {
        case .process(let name):
            guard let pid = system.processes[name]?.pid else {
                throw SetupError("process '\(name)' is not running, so it cannot be sent a signal")
            }
            return pid
        case .pid(let pid):
            guard kill(pid, 0) == 0 || errno == EPERM else { throw SetupError("no process has PID \(pid)") }
            return pid
        case .pidFile(let template):
            let path = try template.render(in: scope)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = Int32(text.split(whereSeparator: \.isNewline).first?.trimmingWhitespace() ?? ""), pid > 1
            else { throw SetupError("\(path) does not hold a PID") }
            return pid
        }
    }
}

/// A fault's `command`: run by `/bin/sh -c`, checked to exit 0 within its timeout, its output kept (the last
/// ``outputKeptMax`` bytes) for the report.
enum ShellCommand {
    static let outputKeptMax = 2_000

    static func run(_ line: String, timeout: TimeAmount, log: inout [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try await process.runWithSignalsUnblocked() } catch {
            throw SetupError("`\(line)` could not start: \(error.localizedDescription)")
        }
        let reading = Task { await Self.read(output.fileHandleForReading) }
        let finished = await process.endsWithin(timeout)
        let text = await reading.value
        log.append("`\(line)` → " + (finished ? "exit \(process.terminationStatus)" : "killed after its timeout"))
        if !text.isEmpty { log.append(text) }
        guard finished else {
            throw SetupError("`\(line)` did not finish within \(ScheduledFault.format(timeout)): \(text)")
        }
        guard process.terminationStatus == 0 else {
            throw SetupError("`\(line)` failed with exit status \(process.terminationStatus): \(text)")
        }
    }

    /// The last bytes of the output, on one line.
    private static func read(_ handle: FileHandle) async -> String {
        await onOwnThread {
            var kept = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                kept.append(chunk)
                if kept.count > outputKeptMax { kept.removeFirst(kept.count - outputKeptMax) }
            }
            return String(decoding: kept, as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " | ")
        }
    }
}
