import Foundation
import NIOCore
import Yams

/// Reads the `processes`, `proxies` and `faults` sections: what a scenario starts, where the fault proxy sits, and
/// the faults on its timeline. Every mistake the file alone can show is found here, with its position.
extension YAMLReader {
    func processes(_ node: Node) throws(ScenarioError) -> [ScenarioFile.OwnedProcess] {
        var processes: [ScenarioFile.OwnedProcess] = []
        for item in try sequence(node, "'processes'") {
            let map = try mapping(
                item, "a process",
                keys: ["name", "run", "env", "ready", "ready_timeout", "stop_timeout", "when", "watch"])
            let name = try uniqueName(map, item, "a process", taken: processes.map(\.name))
            guard let run = map["run"] else { throw error("a process needs 'run': its command line", item) }
            processes.append(
                .init(
                    name: name, command: try commandLine(run),
                    environment: try environment(map["env"]),
                    ready: try map["ready"].map { node throws(ScenarioError) in try readiness(node) },
                    readyTimeout: try time(map["ready_timeout"], "'ready_timeout'") ?? .seconds(30),
                    stopTimeout: try time(map["stop_timeout"], "'stop_timeout'") ?? .seconds(5),
                    when: try map["when"].map { node throws(ScenarioError) in try expression(node, "'when'") },
                    watch: try map["watch"].map { node throws(ScenarioError) in
                        guard let value = node.bool else { throw error("'watch' must be true or false", node) }
                        return value
                    } ?? false,
                    position: position(item)))
        }
        return processes
    }

    func proxies(_ node: Node) throws(ScenarioError) -> [ScenarioFile.LinkProxy] {
        var proxies: [ScenarioFile.LinkProxy] = []
        for item in try sequence(node, "'proxies'") {
            let map = try mapping(item, "a proxy", keys: ["name", "listen", "upstream"])
            let name = try uniqueName(map, item, "a proxy", taken: proxies.map(\.name))
            guard let listen = map["listen"], let upstream = map["upstream"] else {
                throw error("a proxy needs 'listen' (where the service connects) and 'upstream' (HOST:PORT)", item)
            }
            proxies.append(
                .init(
                    name: name, listen: try address(listen, "'listen'"), upstream: try address(upstream, "'upstream'"),
                    position: position(item)))
        }
        return proxies
    }

    func faults(
        _ node: Node, phases: [ScenarioFile.Phase], processes: [ScenarioFile.OwnedProcess],
        proxies: [ScenarioFile.LinkProxy]
    ) throws(ScenarioError) -> [ScenarioFile.FaultStep] {
        var faults: [ScenarioFile.FaultStep] = []
        let kinds = ["proxy", "command", "signal", "restart"]
        for item in try sequence(node, "'faults'") {
            let map = try mapping(
                item, "a fault",
                keys: ["name", "phase", "at", "after_answers", "for"] + kinds + [
                    "effect", "end", "timeout", "process", "pid", "pid_file", "kill",
                ])
            let name = try uniqueName(map, item, "a fault", taken: faults.map(\.name))
            let given = kinds.filter(map.has)
            guard given.count == 1, let kind = given.first else {
                throw error("a fault needs exactly one kind: proxy, command, signal or restart", item)
            }
            let phase = try phaseIndex(map["phase"], phases: phases)
            let start: ScenarioFile.FaultStep.StartSpec
            switch (map["at"], map["after_answers"]) {
            case (let at?, nil):
                start = .at(try duration(at, "'at'"))
            case (nil, let answers?):
                let count = try expression(answers, "'after_answers'")
                if case .literal(let value) = count.root.node,
                    value.number.map({ $0 < 1 || $0 != $0.rounded() }) ?? true
                {
                    throw error("'after_answers' must be a whole number ≥ 1", answers)
                }
                start = .afterAnswers(count)
            default:
                throw error("a fault needs one of 'at' (a time into its phase) or 'after_answers' (a count)", item)
            }
            let length = try map["for"].map { node throws(ScenarioError) in try duration(node, "'for'") }
            if kind == "restart" {
                if let node = map["for"] {
                    throw error("a restart lasts until the process is ready again: no 'for'", node)
                }
            } else if length == nil || length?.literal.flatMap({ TimeAmount(parsing: $0) }) == .zero {
                throw error("a \(kind) fault needs 'for': how long it lasts, e.g. 5s", item)
            }
            let action = try action(kind, map, item, processes: processes, proxies: proxies)
            let fault = ScenarioFile.FaultStep(
                name: name, phase: phase, start: start, length: length, action: action, position: position(item))
            try checkRestartOverlap(fault, faults, processes: processes)
            faults.append(fault)
        }
        return faults
    }

    private func action(
        _ kind: String, _ map: Mapping, _ item: Node, processes: [ScenarioFile.OwnedProcess],
        proxies: [ScenarioFile.LinkProxy]
    ) throws(ScenarioError) -> ScenarioFile.FaultStep.Action {
        let owns: [String: [String]] = [
            "proxy": ["effect"], "command": ["end", "timeout"], "signal": ["process", "pid", "pid_file"],
            "restart": ["kill"],
        ]
        for (other, keys) in owns where other != kind {
            for key in keys where map.has(key) && !(owns[kind] ?? []).contains(key) {
                throw error(
                    "'\(key)' does not apply to a \(kind) fault",
                    map.entries.first { $0.key == key }!.keyNode)
            }
        }
        switch kind {
        case "proxy":
            let link = try string(map["proxy"]!, "'proxy'")
            guard proxies.contains(where: { $0.name == link }) else {
                throw error(
                    "no proxy named '\(link)' in 'proxies'"
                        + (proxies.isEmpty ? "" : "; there are \(proxies.map(\.name).joined(separator: ", "))"),
                    map["proxy"]!)
            }
            guard let effectNode = map["effect"] else {
                throw error(
                    "a proxy fault needs 'effect': outage, reset, blackhole, latency=200ms~50ms, bandwidth=10000 "
                        + "(bytes/s) or close-after=1000 (bytes)", item)
            }
            do {
                return .proxy(link: link, effect: try Fault(parsing: try string(effectNode, "'effect'")))
            } catch let failure as FaultSpecError {
                throw error("'effect' \(failure.description)", effectNode)
            } catch {
                throw self.error("'effect': \(error)", effectNode)
            }
        case "command":
            return .command(
                start: try template(map["command"]!, "'command'"),
                end: try map["end"].map { node throws(ScenarioError) in try template(node, "'end'") },
                timeout: try time(map["timeout"], "'timeout'") ?? .seconds(30))
        case "signal":
            let signalNode = map["signal"]!
            let name = try string(signalNode, "'signal'").uppercased().replacingOccurrences(of: "SIG", with: "")
            guard let number = ScenarioFile.signals[name] else {
                throw error(
                    "unknown signal '\(name)': use \(ScenarioFile.signals.keys.sorted().joined(separator: ", "))",
                    signalNode)
            }
            let targets = ["process", "pid", "pid_file"].filter(map.has)
            guard targets.count == 1 else {
                throw error("a signal fault names its process with exactly one of 'process', 'pid' or 'pid_file'", item)
            }
            let target: ScenarioFile.SignalTarget
            switch targets[0] {
            case "process": target = .process(try ownedProcess(map["process"]!, processes))
            case "pid":
                guard let pid = map["pid"]!.int, pid > 1, let number = Int32(exactly: pid) else {
                    throw error("'pid' must be a process id greater than 1", map["pid"]!)
                }
                target = .pid(number)
            default: target = .pidFile(try template(map["pid_file"]!, "'pid_file'"))
            }
            return .signal(number, name: name, target: target)
        default:
            let process = try ownedProcess(map["restart"]!, processes)
            let kill = try map["kill"].map { node throws(ScenarioError) in
                guard let value = node.bool else { throw error("'kill' must be true or false", node) }
                return value
            }
            return .restart(process: process, kill: kill ?? false)
        }
    }

    /// Two restarts of one process in one phase must be started by times at least its ready timeout apart; a
    /// restart started by a count of answers may be the phase's only one. Otherwise the second could begin while the
    /// first is still waiting for the process.
    private func checkRestartOverlap(
        _ fault: ScenarioFile.FaultStep, _ earlier: [ScenarioFile.FaultStep], processes: [ScenarioFile.OwnedProcess]
    ) throws(ScenarioError) {
        guard case .restart(let name, _) = fault.action else { return }
        let readyTimeout = processes.first { $0.name == name }?.readyTimeout ?? .zero
        for other in earlier where other.phase == fault.phase {
            guard case .restart(name, _) = other.action else { continue }
            if case .at(let first) = fault.start, case .at(let second) = other.start,
                let a = first.literal.flatMap({ TimeAmount(parsing: $0) }),
                let b = second.literal.flatMap({ TimeAmount(parsing: $0) }),
                abs(a.nanoseconds - b.nanoseconds) >= readyTimeout.nanoseconds
            {
                continue
            }
            throw ScenarioError(
                "restart '\(fault.name)' of '\(name)' may overlap restart '\(other.name)' (\(other.position)) in the "
                    + "same phase: start them by 'at' times at least its ready_timeout "
                    + "(\(ScheduledFault.format(readyTimeout))) apart",
                at: fault.position)
        }
    }

    // MARK: Parts

    func uniqueName(
        _ map: Mapping, _ node: Node, _ what: String, taken: [String]
    ) throws(ScenarioError) -> String {
        guard let nameNode = map["name"] else { throw error("\(what) needs a 'name'", node) }
        let name = try string(nameNode, "'name'")
        guard Self.isName(name) else {
            throw error("'\(name)' is not a name: letters, digits and '_', not starting with a digit", nameNode)
        }
        guard !taken.contains(name) else { throw error("'\(name)' names two of them", nameNode) }
        return name
    }

    private func ownedProcess(_ node: Node, _ processes: [ScenarioFile.OwnedProcess]) throws(ScenarioError) -> String {
        let name = try string(node, "a process's name")
        guard processes.contains(where: { $0.name == name }) else {
            throw error(
                "no process named '\(name)' in 'processes'"
                    + (processes.isEmpty ? "" : "; there are \(processes.map(\.name).joined(separator: ", "))"), node)
        }
        return name
    }

    private func phaseIndex(_ node: Node?, phases: [ScenarioFile.Phase]) throws(ScenarioError) -> Int {
        guard let node else { return 0 }
        let name = try string(node, "'phase'")
        guard let index = phases.firstIndex(where: { $0.name.text == name }) else {
            throw error(
                "no phase named '\(name)'; the phases are "
                    + phases.map { "'\($0.name.text)'" }.joined(separator: ", "), node)
        }
        return index
    }

    /// A command line: a list of arguments, or one string run by `/bin/sh -c`.
    private func commandLine(_ node: Node) throws(ScenarioError) -> [ScenarioTemplate] {
        if case .sequence = node {
            let arguments = try sequence(node, "'run'").map { item throws(ScenarioError) in
                try template(item, "an argument")
            }
            guard !arguments.isEmpty else { throw error("'run' needs a command", node) }
            return arguments
        }
        let text = try template(node, "'run'")
        return [
            try ScenarioTemplate("/bin/sh", at: position(node)), try ScenarioTemplate("-c", at: position(node)), text,
        ]
    }

    private func environment(_ node: Node?) throws(ScenarioError) -> [(name: String, value: ScenarioTemplate)] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else { throw error("'env' must map names to values", node) }
        var variables: [(name: String, value: ScenarioTemplate)] = []
        for (key, value) in mapping {
            variables.append((try string(key, "a variable's name"), try template(value, "a value")))
        }
        return variables
    }

    private func readiness(_ node: Node) throws(ScenarioError) -> ScenarioFile.Readiness {
        let map = try mapping(node, "'ready'", keys: ["url", "port", "log"])
        guard map.entries.count == 1, let entry = map.entries.first else {
            throw error("'ready' takes exactly one of 'url', 'port' or 'log'", node)
        }
        switch entry.key {
        case "url":
            let url = try template(entry.value, "'url'")
            if let literal = url.literal, !(literal.hasPrefix("http://") || literal.hasPrefix("https://")) {
                throw error("'url' must be an http:// or https:// URL", entry.value)
            }
            return .url(url)
        case "port": return .port(try address(entry.value, "'port'"))
        default:
            let text = try string(entry.value, "'log'")
            guard !text.isEmpty else { throw error("'log' needs the text of a line to wait for", entry.value) }
            return .log(text)
        }
    }

    /// HOST:PORT, checked now when it holds no template.
    private func address(_ node: Node, _ what: String) throws(ScenarioError) -> ScenarioTemplate {
        let address = try template(node, what)
        if let literal = address.literal, HostPort(literal) == nil {
            throw error("\(what) must be HOST:PORT, e.g. 127.0.0.1:6379, not '\(literal)'", node)
        }
        return address
    }

    func time(_ node: Node?, _ what: String) throws(ScenarioError) -> TimeAmount? {
        guard let node else { return nil }
        let text = try string(node, what)
        guard let time = TimeAmount(parsing: text) else {
            throw error("\(what) must be a time with a unit: 500ms, 10s, 2m", node)
        }
        return time
    }
}
