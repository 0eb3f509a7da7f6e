import NIOCore
import TurnstileReport

/// Checks a scenario before anything is sent: every name an expression reads is defined somewhere in the file
/// (a variable, a built-in, a CSV column, a capture or a `let`), every `count(request.outcome)` names a request and
/// one of its outcomes, and each executor gets only what it can use.
struct ScenarioChecker {
    /// Names every expression may read: the user's index, the run's id, the loop's iteration, the barrier's round.
    static let builtins = ["user", "run", "iteration", "round"]
    /// Outcomes every request has.
    static let builtinOutcomes = ["answered", "unanswered", "other"]

    let scenario: ScenarioFile

    init(_ scenario: ScenarioFile) {
        self.scenario = scenario
    }

    func check() throws(ScenarioError) {
        let requests = scenario.allRequests
        // A built-in's value is the engine's: a variable, column, capture or let of the same name would hide it.
        let builtins =
            Self.builtins + (scenario.faults.isEmpty ? [] : ["faults"])
            + (scenario.subscribers.isEmpty ? [] : ["feeds"])
        for variable in scenario.variables where builtins.contains(variable.name) {
            throw ScenarioError(
                "'\(variable.name)' is a built-in name; call the variable something else", at: variable.position)
        }
        if let accounts = scenario.users.accounts, let column = accounts.columns.first(where: Self.builtins.contains) {
            throw ScenarioError("\(accounts.path): column '\(column)' is a built-in name", at: accounts.position)
        }
        for request in requests {
            if let capture = request.captures.first(where: { Self.builtins.contains($0.name) }) {
                throw ScenarioError(
                    "'\(capture.name)' is a built-in name; capture it as something else", at: capture.position)
            }
            if let name = request.lets.first(where: { Self.builtins.contains($0.name) })?.name {
                throw ScenarioError("'\(name)' is a built-in name; let it be something else", at: request.position)
            }
        }
        var defined = Set(builtins + scenario.variables.map(\.name))
        defined.formUnion(scenario.users.accounts?.columns ?? [])
        for request in requests {
            defined.formUnion(request.captures.map(\.name))
            defined.formUnion(request.lets.map(\.name))
        }
        // Requests counted by `count(…)`: the phases' requests with a fixed name, and their outcomes.
        let outcomes = scenario.countedRequests.mapValues { Set(Self.builtinOutcomes + $0.map(\.name)) }
        for expression in expressions {
            for (path, position) in expression.names {
                if path[0] == "faults", !scenario.faults.isEmpty {
                    try checkFault(path, at: position)
                    continue
                }
                if path[0] == "feeds", !scenario.subscribers.isEmpty {
                    try checkFeed(path, at: position)
                    continue
                }
                if defined.contains(path[0]) { continue }
                if let known = outcomes[path[0]] {
                    if path.count == 1 { continue }
                    if path.count == 2, known.contains(path[1]) { continue }
                    throw ScenarioError(
                        "request '\(path[0])' has no outcome '\(path[1])'; its outcomes are "
                            + known.sorted().joined(separator: ", "), at: position)
                }
                let near = EditDistance.nearest(to: path[0], among: defined.union(outcomes.keys).sorted())
                throw ScenarioError(
                    "'\(path[0])' is not defined: not a variable, a capture, a let, a CSV column or a request"
                        + (near.map { " (did you mean '\($0)'?)" } ?? ""), at: position)
            }
        }
        for phase in scenario.phases {
            guard case .ramp(_, let stop?) = phase.executor else { continue }
            // A stage's figures, and the variables: nothing a user or a request holds, nothing counted over the run.
            let known = StageScope.names + scenario.variables.map(\.name)
            for (path, position) in stop.names where !known.contains(path[0]) {
                throw ScenarioError(
                    "'stop' reads a stage's figures (\(StageScope.names.joined(separator: ", "))) and the variables, "
                        + "not '\(path[0])'"
                        + (EditDistance.nearest(to: path[0], among: known).map { " (did you mean '\($0)'?)" } ?? ""),
                    at: position)
            }
        }
        for phase in scenario.phases {
            guard case .open = phase.executor else { continue }
            for task in phase.tasks {
                let first = task.steps[0]
                guard task.steps.count == 1, first.captures.isEmpty, first.lets.isEmpty, first.when == nil,
                    task.think == .zero
                else {
                    throw ScenarioError(
                        "an open phase sends single requests (each arrival is one request): no 'steps', 'capture', "
                            + "'let', 'when' or 'think'; use a closed phase for sequences", at: first.position)
                }
            }
        }
    }

    /// `feeds.NAME.FIELD`: each part must name what the file has.
    private func checkFeed(_ path: [String], at position: SourcePosition) throws(ScenarioError) {
        guard path.count >= 2 else { return }
        try Self.require(path[1], among: scenario.subscribers.map(\.name), at: position) { names in
            "no subscribers named '\(path[1])'; they are \(names)"
        }
        guard path.count >= 3 else { return }
        try Self.require(path[2...].joined(separator: "."), among: FeedReport.fields, at: position) { fields in
            "a feed has \(fields), not '\(path[2...].joined(separator: "."))'"
        }
    }

    /// Throws `message` (given the names, listed) with the nearest of `names` unless `name` is one of them.
    private static func require(
        _ name: String, among names: [String], at position: SourcePosition, _ message: (String) -> String
    ) throws(ScenarioError) {
        guard !names.contains(name) else { return }
        throw ScenarioError(
            message(names.joined(separator: ", "))
                + (EditDistance.nearest(to: name, among: names).map { " (did you mean '\($0)'?)" } ?? ""),
            at: position)
    }

    /// `faults.NAME`, `faults.NAME.recovery_s`, `faults.NAME.during.REQUEST.p99_ms`: each part must name what the file
    /// has, so that a typo is found before the run rather than read as "not judged" after it.
    private func checkFault(_ path: [String], at position: SourcePosition) throws(ScenarioError) {
        guard path.count >= 2 else { return }
        try Self.require(path[1], among: scenario.faults.map(\.name), at: position) { names in
            "no fault named '\(path[1])'; the faults are \(names)"
        }
        guard path.count >= 3 else { return }
        let parts = FaultReport.windowNames + FaultReport.timeFields
        guard parts.contains(path[2]) else {
            throw ScenarioError(
                "a fault has no '\(path[2])'; it has \(parts.joined(separator: ", "))", at: position)
        }
        guard path.count >= 4, FaultReport.windowNames.contains(path[2]) else { return }
        let requests = scenario.countedRequests
        guard path[3] == "all" || requests[path[3]] != nil else {
            throw ScenarioError(
                "a window has 'all' and the phases' requests (\(requests.keys.sorted().joined(separator: ", "))), "
                    + "not '\(path[3])'", at: position)
        }
        guard path.count >= 5 else { return }
        let fields = FaultReport.endpointFields + (requests[path[3]]?.map(\.name) ?? [])
        guard fields.contains(path[4]) else {
            throw ScenarioError(
                "'\(path[3])' in a window has \(fields.joined(separator: ", ")), not '\(path[4])'", at: position)
        }
    }

    /// Every expression in the file, templates' included.
    private var expressions: [ScenarioExpression] {
        var found: [ScenarioExpression] = []
        func add(_ template: ScenarioTemplate?) { found += template?.expressions ?? [] }
        for request in scenario.allRequests {
            add(request.name)
            add(request.path)
            request.headers.forEach { add($0.value) }
            request.payload?.templates.forEach { add($0) }
            request.captures.forEach { add($0.path) }
            found += request.lets.map(\.expression)
            found += [request.when].compactMap { $0 }
            // One that reads the answer was checked as it was read: it reads nothing else.
            if !request.publishesFromAnswer { found += [request.publishes].compactMap { $0 } }
        }
        for group in scenario.subscribers {
            found.append(group.count)
            add(group.url)
            group.headers.forEach { add($0.value) }
            add(group.subscribe)
            add(group.grace)
        }
        scenario.users.headers.forEach { add($0.value) }
        found += [scenario.users.count].compactMap { $0 }
        for phase in scenario.phases {
            add(phase.name)
            found += [phase.users].compactMap { $0 }
            switch phase.executor {
            case .barrier(let rounds, let each, let think):
                found += [rounds, each].compactMap { $0 }
                add(think)
            case .badInput(let badInput):
                add(badInput.probe)
                add(badInput.timeout)
                badInput.openAPI?.parameters.forEach { add($0.value) }
                if case .target(let path)? = badInput.openAPI?.document { add(path) }
            case .closed(let duration, let think):
                add(duration)
                add(think)
            case .open(let rate, let rateEnd, let duration, let connections):
                found += [rate, rateEnd, connections].compactMap { $0 }
                add(duration)
            case .ramp(let stages, _):
                for stage in stages {
                    found.append(stage.users)
                    add(stage.duration)
                }
            }
        }
        for invariant in scenario.invariants + scenario.requirements {
            found += [invariant.check, invariant.when].compactMap { $0 }
            add(invariant.name)
            add(invariant.phase)
        }
        scenario.notes.forEach { add($0) }
        for process in scenario.processes {
            found += [process.when].compactMap { $0 }
            process.command.forEach { add($0) }
            process.environment.forEach { add($0.value) }
            switch process.ready {
            case .url(let template)?, .port(let template)?: add(template)
            default: break
            }
        }
        for link in scenario.proxies {
            add(link.listen)
            add(link.upstream)
        }
        for fault in scenario.faults {
            switch fault.start {
            case .at(let time): add(time)
            case .afterAnswers(let count): found.append(count)
            }
            add(fault.length)
            switch fault.action {
            case .command(let start, let end, _):
                add(start)
                add(end)
            case .signal(_, _, .pidFile(let file)): add(file)
            default: break
            }
        }
        return found
    }
}
