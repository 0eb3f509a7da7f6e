import Foundation
import NIOCore
import Synchronization
import TurnstileReport

/// Runs a ``ScenarioFile`` against a target: provisions its users, sends its set-up, drives its phases, reads the
/// target back, and judges its invariants into the report.
///
/// Provisioning, set-up and read-back are not measurement: they use the context's set-up timeouts, retry what is
/// safe to retry, and run as many at once as the target answers quickly. Only the phases are in the statistics.
public struct ScenarioRunner: Sendable {
    public let scenario: ScenarioFile
    public let context: SuiteContext
    /// Variable values given on the command line (`--set name=value`), over the file's defaults.
    public let overrides: [String: ScenarioValue]
    /// Users provisioned by an earlier scenario of the same run, shared when the provisioning is the same.
    public let pool: ScenarioUserPool?
    /// Where the output of the scenario's processes goes, a file each; a temporary folder when nil.
    public let logFolder: URL?
    /// Which shard of a run spread over several machines this is, when it is one: it provisions only its users,
    /// takes the set-up from the prepared run, and leaves the invariants to `turnstile stress merge`.
    public let shard: ShardPlan?

    public init(
        _ scenario: ScenarioFile, context: SuiteContext, overrides: [String: ScenarioValue] = [:],
        pool: ScenarioUserPool? = nil, logFolder: URL? = nil, shard: ShardPlan? = nil
    ) {
        self.scenario = scenario
        self.context = context
        self.overrides = overrides
        self.pool = pool
        self.logFolder = logFolder
        self.shard = shard
    }

    /// The variables with the overrides applied, and `run`. An override naming no variable is an error.
    public func variables(runID: String) throws(ScenarioError) -> [String: ScenarioValue] {
        var values: [String: ScenarioValue] = ["run": .string(runID)]
        for variable in scenario.variables { values[variable.name] = variable.value }
        for (name, value) in overrides {
            guard values[name] != nil, name != "run" else {
                throw ScenarioError(
                    "--set \(name): \(scenario.file) has no variable '\(name)'; its variables are "
                        + (scenario.variables.isEmpty
                            ? "none" : scenario.variables.map(\.name).joined(separator: ", ")))
            }
            values[name] = value
        }
        return values
    }

    /// Runs the scenario, adding its phases, invariants and notes to `report`. Its processes and proxies, if it has
    /// any, run from before its users are provisioned until after its invariants are judged.
    public func run(into report: inout RunReport) async throws {
        do {
            try await runOwningSystem(into: &report)
        } catch let error as ScenarioError {
            throw explained(error)
        }
    }

    /// A built-in suite reads Turnstile's answers: pointed at a service with the same paths and other answers, it
    /// says so, rather than report the books it could not read as broken.
    private func explained(_ error: ScenarioError) -> ScenarioError {
        guard scenario.isBundled, error.isShapeMismatch else { return error }
        return ScenarioError.shape(
            "this target's answers do not have the shape the \(scenario.name) suite reads (is the target a Turnstile "
                + "service?): \(error.message)", at: error.position)
    }

    private func runOwningSystem(into report: inout RunReport) async throws {
        if let shard {
            let globals = try shard.prepared?.globals ?? variables(runID: shard.runID)
            return try await run(globals: globals, system: nil, into: &report)
        }
        let globals = try variables(runID: pool?.runID ?? Self.newRunID())
        guard !(scenario.processes.isEmpty && scenario.proxies.isEmpty && scenario.faults.isEmpty) else {
            return try await run(globals: globals, system: nil, into: &report)
        }
        let folder =
            logFolder
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(globals["run"]!)-logs")
        let system = try await ScenarioSystem.start(
            scenario, globals: globals, logFolder: folder, progress: context.progress)
        if !scenario.processes.isEmpty { report.notes.append("the processes' output is in \(folder.path)") }
        do {
            try await FaultMarks.$current.withValue(system.marks) {
                try await run(globals: globals, system: system, into: &report)
            }
        } catch {
            await system.stop()
            throw error
        }
        await system.stop()
    }

    private func run(
        globals: [String: ScenarioValue], system: ScenarioSystem?, into report: inout RunReport
    ) async throws {
        var state = RunState(globals: globals)
        // Earlier scenarios of the same run have their own phases in the report; this one counts only its own.
        let firstPhase = report.phases.count
        let count = try users(in: state.globals)
        state.userCount = count
        state.shard = shard?.shard
        if let shard {
            context.progress?.note(
                "\(scenario.name): shard \(shard.shard), \(shard.shard.share(of: count)) of \(count) users")
        } else {
            context.progress?.note("\(scenario.name): \(count) user\(count == 1 ? "" : "s")")
        }
        state.users = try await provision(count, globals: state.globals)
        for user in state.users.indices {
            for (name, value) in state.users[user] where name != "user" {
                state.history[name, default: []].append(value)
            }
        }
        // One connection for the requests sent once, set-up and read-back, reopened if the target closed it.
        let session = context.setupSession()
        // A shard's set-up was sent once for the whole run, by `prepare`: its captures are among the globals.
        for request in scenario.setup where shard == nil {
            try await callOnce(request, on: session, state: &state, what: "set-up")
        }
        // A shard released at an instant compares its clock with the target's, which every shard shares.
        let clock = shard?.startAt == nil ? nil : await ClockProbe.measure(context)
        let faultsBefore = report.faults.count
        let feeds = try await ScenarioFeeds.open(
            scenario.subscribers, users: state.users, globals: state.globals, context: context)
        do {
            try await FeedLedger.$current.withValue(feeds?.ledger) {
                try await runPhases(system: system, state: &state, into: &report)
            }
        } catch {
            await feeds?.close()
            throw error
        }
        let feedsBefore = report.feeds.count
        if let feeds {
            let reports = await feeds.finish(progress: context.progress)
            report.feeds += reports
            report.notes += reports.map(\.note)
        }
        // After a fault the target may still be recovering: read-back is patient then.
        let readbackError = await readBack(session: session, state: &state, patient: system != nil)
        if let shard {
            // The invariants need every shard's counts and one read-back: the merge judges them.
            if let readbackError { throw readbackError }
            report.shard = shardRecord(shard, state: state, clock: clock)
            report.notes.append("shard \(shard.shard) of run \(shard.runID): " + ShardRecord.notJudgedHere)
            return
        }
        if let readbackError, report.failure == nil {
            report.failure = StressRun.describe(
                (readbackError as? ScenarioError).map(explained) ?? readbackError, target: context.target)
        }
        var globals = state.globals
        if !scenario.subscribers.isEmpty {
            globals["feeds"] = .object(
                Dictionary(report.feeds[feedsBefore...].map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        if !scenario.faults.isEmpty {
            let outcomes = scenario.countedRequests
            globals["faults"] = .object(
                Dictionary(
                    report.faults[faultsBefore...].map { ($0.name, $0.value(outcomes: outcomes)) },
                    uniquingKeysWith: { first, _ in first }))
        }
        try judge(
            globals: globals, history: state.history, phases: Array(report.phases[firstPhase...]),
            readBack: readbackError == nil, into: &report)
    }

    /// Judges the invariants on what `phases` counted, the run's values and each user's: without the read-back
    /// (`readBack` false), what it would have captured is unknown, even where set-up captured the same name.
    func judge(
        globals: [String: ScenarioValue], history: [String: [ScenarioValue]], phases: [PhaseReport], readBack: Bool,
        into report: inout RunReport
    ) throws(ScenarioError) {
        let unread = readBack ? [] : Set(scenario.readback.flatMap { $0.captures.map(\.name) + $0.lets.map(\.name) })
        let scope = SummaryScope(globals: globals, history: history, counts: outcomeCounts(phases), hidden: unread)
        try judge(in: scope, lastPhase: phases.last?.name ?? scenario.name, readBack: readBack, into: &report)
    }

    /// Runs the phases in order, each with its faults, which end before the next phase begins.
    private func runPhases(system: ScenarioSystem?, state: inout RunState, into report: inout RunReport) async throws {
        for (index, phase) in scenario.phases.enumerated() {
            let faults = system?.faults(
                ofPhase: index, named: try phase.name.render(in: UserScope(user: [:], globals: state.globals)))
            let phasesBefore = report.phases.count
            faults?.begin()
            do {
                try await run(phase, state: &state, into: &report)
            } catch {
                if let faults { report.faults += await faults.finish().reports }
                throw error
            }
            guard let faults else { continue }
            let (faultReports, failures) = await faults.finish()
            report.faults += faultReports
            if phasesBefore < report.phases.count {
                report.phases[phasesBefore].windows += faultReports.compactMap { fault in
                    fault.began.map { PhaseReport.Window(name: fault.name, from: $0, to: fault.ended ?? $0) }
                }
            }
            // A fault that could not be carried out leaves the run unproven, but what it did prove still counts.
            if report.failure == nil, let failure = failures.first { report.failure = failure }
        }
    }

    /// Judges the invariants and requirements, and renders the notes. Without the read-back (`readBack` false),
    /// what needs it is listed as not judged rather than ending the run.
    private func judge(
        in scope: SummaryScope, lastPhase: String, readBack: Bool, into report: inout RunReport
    ) throws(ScenarioError) {
        var unjudged: [String] = []
        var unmet: [InvariantResult] = []
        for (invariant, isRequirement) in scenario.invariants.map({ ($0, false) })
            + scenario.requirements.map({ ($0, true) })
        {
            let result: Result<InvariantResult?, ScenarioError> = Result { () throws(ScenarioError) in
                try judge(invariant, in: scope, lastPhase: lastPhase)
            }
            switch result {
            case .success(let judged?) where isRequirement && !judged.passed: unmet.append(judged)
            case .success(let judged?): report.invariants.append(judged)
            case .success(nil): continue
            case .failure(let error):
                // What the missing read-back would have captured cannot be judged; everything else still is.
                guard !readBack else { throw error }
                unjudged.append((try? invariant.name.render(in: scope)) ?? invariant.name.text)
            }
        }
        // A requirement not met leaves the run unproven rather than the target at fault.
        if report.failure == nil, let first = unmet.first {
            report.failure =
                "the run did not do what it is for: \(first.rule) (expected \(first.expected), got \(first.actual))"
        }
        if !unjudged.isEmpty {
            report.notes.append(
                "not judged, for want of the read-back: " + unjudged.map { "'\($0)'" }.joined(separator: ", "))
        }
        for note in scenario.notes {
            if let text = try? note.render(in: scope) {
                report.notes.append(text)
            } else if readBack {
                report.notes.append(try note.render(in: scope))
            }
        }
    }

    /// The invariant's row; nil when its `when` does not hold.
    private func judge(
        _ invariant: ScenarioFile.Invariant, in scope: SummaryScope, lastPhase: String
    ) throws(ScenarioError) -> InvariantResult? {
        if let when = invariant.when, !(try when.isTrue(in: scope)) { return nil }
        let (passed, expected, actual) = try invariant.check.judge(in: scope)
        return InvariantResult(
            phase: try invariant.phase?.render(in: scope) ?? lastPhase, rule: try invariant.name.render(in: scope),
            expected: expected, actual: actual, passed: passed)
    }

    /// Sends the read-back requests; returns the error that stopped them, if one did, so that what can be judged
    /// without them still is.
    private func readBack(session: APISession, state: inout RunState, patient: Bool) async -> (any Error)? {
        do {
            // A shard reads back its own users; what is read once is read by the merge, after every shard.
            for request in scenario.readback where shard == nil || request.perUser {
                if request.perUser {
                    try await readBackPerUser(request, state: &state, patient: patient)
                } else {
                    try await callOnce(request, on: session, state: &state, what: "read-back", patient: patient)
                }
            }
            return nil
        } catch {
            return error
        }
    }

    /// A fresh id that makes this run's names (emails, SKUs) unique on a long-lived target.
    public static func newRunID() -> String { String(UInt32.random(in: .min ... .max), radix: 36) }

    /// What the run knows as it goes.
    struct RunState {
        var globals: [String: ScenarioValue]
        var users: [UserValues] = []
        var history: [String: [ScenarioValue]] = [:]
        /// The users of the whole run: `users` holds only a shard's share of them.
        var userCount = 0
        var shard: Shard?
        /// A shard's: whether its first phase has begun, the instant its barrier releases at, and when each phase
        /// started by its clock.
        var started = false
        var releaseAt: Date?
        var starts: [ShardRecord.PhaseStart] = []

        /// How many of this run's users are among the whole run's first `total`: all of them unsharded.
        func share(of total: Int) -> Int { shard?.share(of: total) ?? total }

        mutating func take(_ found: [(String, ScenarioValue)], user: Int) {
            for (name, value) in found {
                users[user][name] = value
                history[name, default: []].append(value)
            }
        }
    }

    // MARK: Users

    /// How many users the scenario has with `variables` (from ``variables(runID:)``); an error names the file's
    /// position.
    public func users(in globals: [String: ScenarioValue]) throws(ScenarioError) -> Int {
        let rows = scenario.users.accounts?.rows.count
        guard let expression = scenario.users.count else { return rows ?? 1 }
        guard case .int(let count) = try expression.evaluate(in: UserScope(user: [:], globals: globals)), count >= 1
        else {
            throw ScenarioError("'count' must be a whole number ≥ 1", at: expression.origin)
        }
        if let rows, let accounts = scenario.users.accounts, count > rows {
            throw ScenarioError(
                "'count' is \(count), but \(accounts.path) has \(rows) account\(rows == 1 ? "" : "s")",
                at: expression.origin)
        }
        guard count <= LoadLimits.barrierUsersMax else {
            throw ScenarioError("'count' may be at most \(LoadLimits.barrierUsersMax)", at: expression.origin)
        }
        return count
    }

    /// The first `count` users as this scenario provisions them (through the pool, when it has one).
    func provisionedUsers(_ count: Int, globals: [String: ScenarioValue]? = nil) async throws -> [UserValues] {
        try await provision(count, globals: try globals ?? variables(runID: pool?.runID ?? Self.newRunID()))
    }

    private func provision(_ count: Int, globals: [String: ScenarioValue]) async throws -> [UserValues] {
        let users = scenario.users
        // A shard's first user may have been provisioned by `prepare`, to send the set-up: taken, not made again.
        let prepared = shard?.prepared?.firstUserValues
        let make: @Sendable ([Int]) async throws -> [UserValues] = { indices in
            try await context.forEach(indices.count, label: users.provision.isEmpty ? nil : "provisioning users") {
                offset, session in
                let index = indices[offset]
                if index == 0, let prepared { return prepared }
                var values: UserValues = ["user": .int(index)]
                if let accounts = users.accounts {
                    for (column, text) in accounts.rows[index] { values[column] = .string(text) }
                }
                for request in users.provision {
                    let scope = UserScope(user: values, globals: globals)
                    if let when = request.when, !(try when.isTrue(in: scope)) { continue }
                    for (name, value) in try await call(request, scope: scope, session: session, what: "provisioning") {
                        values[name] = value
                    }
                }
                return values
            }
        }
        if let shard { return try await make(shard.shard.users(of: count)) }
        if let pool {
            return try await pool.users(count, key: scenario.provisioningKey) { range in try await make(Array(range)) }
        }
        return try await make(Array(0..<count))
    }

    // MARK: Set-up and read-back

    /// Sends a set-up or read-back request and returns what it captured; any answer but an expected one, or a
    /// capture that finds nothing, ends the run.
    private func call(
        _ request: ScenarioFile.Request, scope: UserScope, session: APISession, what: String, patient: Bool = false
    )
        async throws -> [(String, ScenarioValue)]
    {
        let load = try request.render(in: scope, userHeaders: scenario.users.headers)
        let response: LoadResponse
        do {
            response = try await session.call(
                load, expecting: request.expected, retry: request.retry, patient: patient)
        } catch let error as SetupError {
            throw ScenarioError("\(what) request '\(load.endpoint)': \(error.description)", at: request.position)
        } catch let error as LoadError where error.kind != .connect {
            // A refused connect is the target's absence, which the run reports as such; anything else is this call's.
            let hint = error.kind == .timeout ? " (set-up calls, retries included, may take --setup-timeout)" : ""
            throw ScenarioError(
                "\(what) request '\(load.endpoint)' got no usable answer: \(error)\(hint)", at: request.position)
        }
        return try request.values(from: response, in: scope, label: "\(what) request '\(load.endpoint)'")
    }

    /// A request sent once, as the first user; its captures become the run's.
    func callOnce(
        _ request: ScenarioFile.Request, on session: APISession, state: inout RunState, what: String,
        patient: Bool = false
    ) async throws {
        let scope = UserScope(user: state.users.first ?? [:], globals: state.globals)
        if let when = request.when, !(try when.isTrue(in: scope)) { return }
        for (name, value) in try await call(request, scope: scope, session: session, what: what, patient: patient) {
            state.globals[name] = value
        }
    }

    private func readBackPerUser(
        _ request: ScenarioFile.Request, state: inout RunState, patient: Bool
    ) async throws {
        let users = state.users
        let globals = state.globals
        let found = try await context.forEach(users.count, label: "reading back") { index, session in
            let scope = UserScope(user: users[index], globals: globals)
            if let when = request.when, !(try when.isTrue(in: scope)) { return [(String, ScenarioValue)]() }
            return try await call(request, scope: scope, session: session, what: "read-back", patient: patient)
        }
        for (user, values) in found.enumerated() { state.take(values, user: user) }
    }

    // MARK: Phases

    private func run(_ phase: ScenarioFile.Phase, state: inout RunState, into report: inout RunReport) async throws {
        let globalScope = UserScope(user: [:], globals: state.globals)
        let name = try phase.name.render(in: globalScope)
        let participants =
            try phase.users.map { expression throws(ScenarioError) in
                state.share(of: try count(expression, in: globalScope, "'users'", maximum: state.userCount))
            } ?? state.users.count
        if shard != nil, participants == 0 {
            report.notes.append("\(name): none of this shard's users take part")
            return
        }
        // Bad inputs are sent one at a time, and once: by the first shard.
        if let shard, case .badInput = phase.executor, shard.shard.index != 0 {
            report.notes.append("\(name): bad inputs are sent by shard 0 only")
            return
        }
        if let plan = shard, let startAt = plan.startAt, !state.started {
            state.started = true
            // The first phase starts at the run's instant: a barrier releases then (its requests written before);
            // any other phase waits for it here. A wait for a wall-clock instant, not for anything else.
            if case .barrier = phase.executor {
                state.releaseAt = startAt
            } else {
                let wait = startAt.timeIntervalSinceNow
                if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
                state.starts.append(.init(phase: name, at: Date().timeIntervalSince1970, lateSeconds: max(0, -wait)))
            }
        }
        switch phase.executor {
        case .barrier(let rounds, let each, let think):
            let rounds =
                try rounds.map { expression throws(ScenarioError) in
                    try count(expression, in: globalScope, "'rounds'")
                } ?? 1
            let each =
                try each.map { expression throws(ScenarioError) in
                    try count(expression, in: globalScope, "'each'")
                } ?? 1
            let pause = try think.map { template throws(ScenarioError) in
                try time(template, in: globalScope, zero: true)
            }
            try await runBarrier(
                phase, name: name, users: participants, rounds: rounds, each: each, pause: pause ?? .zero,
                state: &state, into: &report)
        case .closed(let duration, let think):
            context.progress?.note("\(name): \(participants) users in a closed loop")
            let summaries = try await ClosedExecutor(
                users: participants, duration: try time(duration, in: globalScope), timeouts: context.timeouts
            ).run(
                name,
                scripts: scripts(
                    phase, state: state,
                    think: try think.map { template throws(ScenarioError) in
                        try time(template, in: globalScope, zero: true)
                    } ?? .zero),
                target: context.target, group: context.group, progress: context.progress)
            report.phases.append(summaries.report)
            try take(summaries.summaries, of: phase, state: &state)
        case .badInput(let badInput):
            let requests =
                phase.tasks.isEmpty
                ? scenario.users.provision + scenario.setup
                    + scenario.phases.prefix { $0.position != phase.position }.flatMap { $0.tasks.flatMap(\.steps) }
                : phase.tasks.flatMap(\.steps)
            try await runBadInputs(
                requests, phase: name, badInput: badInput, probe: try badInput.probe?.render(in: globalScope),
                timeout: try badInput.timeout.map { template throws(ScenarioError) in
                    try time(template, in: globalScope)
                } ?? BadInputRun.timeoutDefault,
                state: state, into: &report)
        case .ramp(let stages, let stop):
            var parsed: [RampExecutor.Stage] = []
            for stage in stages {
                parsed.append(
                    .init(
                        users: max(
                            1,
                            state.share(
                                of: try count(
                                    stage.users, in: globalScope, "a stage's 'users'", maximum: state.userCount))),
                        duration: try time(stage.duration, in: globalScope)))
            }
            let globals = state.globals
            let ramp = try await RampExecutor(stages: parsed, timeouts: context.timeouts).run(
                name, scripts: scripts(phase, state: state, think: .zero), target: context.target,
                group: context.group, progress: context.progress,
                until: { stage in try stop?.stops(stage, globals: globals) ?? false })
            report.phases += ramp.map(\.report)
            for stage in ramp { try take(stage.summaries, of: phase, state: &state) }
            if let stop, let last = ramp.last, try stop.stops(last.report, globals: globals) {
                let point = try stop.breakingPoint(of: name, stages: ramp.map(\.report), globals: globals)
                report.breakingPoints.append(point)
                report.notes.append(point.note)
                report.phases[report.phases.count - 1].warnings.append(
                    "breaking point: " + point.reasons.joined(separator: ", "))
                context.progress?.note(point.note)
            } else if stop != nil {
                report.notes.append("\(name): no breaking point up to \(parsed.map(\.users).max() ?? 0) users")
            }
        case .open(let rate, let rateEnd, let duration, let connections):
            // A shard takes its part of the rate and of the connections: the merged report shows the total.
            let shards = Double(shard?.shard.count ?? 1)
            let rate = try number(rate, in: globalScope, "'rate'") / shards
            let rateEnd = try rateEnd.map { expression throws(ScenarioError) in
                try number(expression, in: globalScope, "'rate_end'") / shards
            }
            let connections =
                try connections.map { expression throws(ScenarioError) in
                    max(1, Int((Double(try count(expression, in: globalScope, "'connections'")) / shards).rounded(.up)))
                } ?? max(1, participants)
            context.progress?.note("\(name): \(Format.rate(rate)) on up to \(connections) connections")
            let arrivals = try OpenArrivals(
                phase: phase, users: Array(state.users.prefix(participants)),
                globals: state.globals, userHeaders: scenario.users.headers)
            let phaseReport = try await OpenExecutor(
                rate: rate, rateEnd: rateEnd, duration: try time(duration, in: globalScope),
                connectionsMax: connections, timeouts: context.timeouts
            ).run(
                name, scenario: arrivals.next, target: context.target, group: context.group, progress: context.progress)
            if let error = arrivals.error { throw error }
            report.phases.append(phaseReport)
        }
    }

    /// Sends every bad input made from `requests` (each as the first user would send it), and from the operations of
    /// the phase's OpenAPI document when it names one, one at a time, and judges each: 4xx refused, 2xx/3xx
    /// accepted, 5xx a server error, silence a hang, a target that stops answering (its `probe`, or the next
    /// connection) a crash, after which nothing more is sent.
    private func runBadInputs(
        _ requests: [ScenarioFile.Request], phase: String, badInput: ScenarioFile.BadInput, probe: String?,
        timeout: TimeAmount, state: RunState, into report: inout RunReport
    ) async throws {
        var cases: [(request: String, BadInputs.Case)] = []
        var seen = Set<String>()
        var unmade: [String] = []
        let first = UserScope(user: state.users.first ?? [:], globals: state.globals)
        // The headers that carry a user's identity: Authorization, and the users' own.
        let identity = Set(["Authorization"] + scenario.users.headers.map(\.name)).sorted()
        for request in requests {
            if let when = request.when, !((try? when.isTrue(in: first)) ?? false) { continue }
            guard let base = try? request.render(in: first, userHeaders: scenario.users.headers) else {
                // It reads what the first user never got (a capture of a step it skipped): said, not hidden.
                unmade.append(request.name.text)
                continue
            }
            guard seen.insert("\(base.method) \(request.path.text)").inserted else { continue }
            // The same request as the second user would send it, where it can (it may read what only the first has).
            let other =
                state.users.count > 1
                ? try? request.render(
                    in: UserScope(user: state.users[1], globals: state.globals), userHeaders: scenario.users.headers)
                : nil
            for made in BadInputs.cases(
                request, base: base, other: other, bodyLimit: badInput.bodyLimit, identity: identity)
            {
                cases.append((base.endpoint, made))
            }
        }
        let run = BadInputRun(context: context, timeout: timeout, probe: probe)
        if let source = badInput.openAPI {
            let operations: OpenAPIBadInputs
            switch source.document {
            case .file(_, let document): operations = document
            case .target(let path): operations = try await run.openAPI(at: try path.render(in: first))
            }
            var values: [String: String] = [:]
            for (name, value) in source.parameters { values[name] = try value.render(in: first) }
            cases += operations.cases(
                headers: try scenario.users.headers.rendered(in: first), values: values, identity: identity,
                bodyLimit: badInput.bodyLimit,
                limit: LoadLimits.badInputsMax)
            report.notes += operations.notes.map { "\(phase): \($0)" }
            context.progress?.note("\(phase): \(operations.operations.count) operations read from the OpenAPI document")
        }
        if cases.count > LoadLimits.badInputsMax {
            report.notes.append(
                "\(phase): \(cases.count - LoadLimits.badInputsMax) of \(cases.count) bad inputs past the first "
                    + "\(LoadLimits.badInputsMax) were not sent")
            cases.removeLast(cases.count - LoadLimits.badInputsMax)
        }
        context.progress?.note("\(phase): \(cases.count) bad inputs, one at a time")
        let (phaseReport, results) = await run.send(cases, phase: phase)
        report.phases.append(phaseReport)
        report.badInputs += results
        context.progress?.finished(phaseReport)
        let count = { (verdict: BadInputCase.Verdict) in results.filter { $0.verdict == verdict }.count }
        report.invariants += [
            .equal(count(.serverError), 0, phase: phase, rule: "no bad input is answered with a 5xx"),
            .equal(count(.hang), 0, phase: phase, rule: "every bad input is answered within \(timeout)"),
            .equal(count(.closed), 0, phase: phase, rule: "no bad input's connection closes without an answer"),
            .equal(count(.crash), 0, phase: phase, rule: "the target still answers after every bad input"),
        ]
        if !unmade.isEmpty {
            report.notes.append(
                "\(phase): no bad inputs were made from \(unmade.joined(separator: ", ")): the first user could not "
                    + "send it (it reads a value that user never got)")
        }
        if results.count < cases.count {
            report.notes.append(
                "\(phase): \(cases.count - results.count) of \(cases.count) bad inputs were not sent: the target "
                    + "stopped answering")
        }
    }

    private func scripts(
        _ phase: ScenarioFile.Phase, state: RunState, think: TimeAmount
    )
        -> @Sendable (Int, any EventLoop) -> ScenarioUserScript
    {
        let users = state.users
        let globals = state.globals
        let plan = ScenarioUserScript.Plan(phase, userHeaders: scenario.users.headers, think: think)
        return { user, _ in ScenarioUserScript(user: user, values: users[user], globals: globals, plan: plan) }
    }

    /// Takes what a looping phase's users end with: each name its requests capture or compute contributes each
    /// user's last value to the run's history (a loop keeps no more, so memory does not grow with requests).
    private func take(
        _ summaries: [ScenarioUserScript.Summary], of phase: ScenarioFile.Phase, state: inout RunState
    ) throws {
        if let error = summaries.lazy.compactMap(\.error).first { throw error }
        let names = phase.namesSet
        for summary in summaries {
            for name in names where summary.values[name] != state.users[summary.user][name] {
                if let value = summary.values[name] { state.history[name, default: []].append(value) }
            }
            state.users[summary.user] = summary.values
        }
    }

    /// Each step of the phase's task, `rounds` times, as one barrier over the users for whom its `when` holds;
    /// all reported as one phase. An answer the request did not expect with a 4xx means the target refused the
    /// request itself (a 422, say), so the race did not happen: the run could not be carried out.
    private func runBarrier(
        _ phase: ScenarioFile.Phase, name: String, users: Int, rounds: Int, each: Int, pause: TimeAmount,
        state: inout RunState, into report: inout RunReport
    ) async throws {
        let steps = phase.tasks[0].steps
        context.progress?.note(
            "\(name): \(users) users at once" + (rounds > 1 ? ", \(rounds) rounds" : "")
                + (each > 1 ? ", \(each) requests each" : ""))
        var merged: PhaseReport?
        for round in 0..<rounds {
            // A pace the file asks for between releases (a bidder's bids 20 ms apart), not a wait for anything.
            if round > 0, pause > .zero { try await Task.sleep(for: .nanoseconds(pause.nanoseconds)) }
            for step in steps {
                var requests: [LoadRequest] = []
                var owners: [Int] = []
                for user in 0..<users {
                    let scope = UserScope(user: state.users[user], globals: state.globals, round: round)
                    if let when = step.when, !(try when.isTrue(in: scope)) { continue }
                    let request = try step.render(in: scope, userHeaders: scenario.users.headers)
                    for _ in 0..<each {
                        requests.append(request)
                        owners.append(user)
                    }
                }
                guard !requests.isEmpty else { continue }
                guard requests.count <= LoadLimits.barrierUsersMax else {
                    throw ScenarioError(
                        "a barrier releases at most \(LoadLimits.barrierUsersMax) requests; this one has "
                            + "\(requests.count)", at: phase.position)
                }
                let (stepReport, responses) = try await BarrierExecutor(
                    timeouts: context.timeouts, releaseAt: state.releaseAt
                ).run(name, requests: requests, target: context.target, group: context.group)
                if state.releaseAt != nil, let at = stepReport.releasedAtUnixSeconds {
                    state.starts.append(.init(phase: name, at: at, lateSeconds: stepReport.releaseLateSeconds ?? 0))
                    state.releaseAt = nil
                }
                if merged == nil { merged = stepReport } else { merged?.append(stepReport) }
                try Self.requireCarriedOut(responses, requests: requests, phase: name)
                for (owner, response) in zip(owners, responses) {
                    guard case .success(let answer) = response else { continue }
                    let scope = UserScope(user: state.users[owner], globals: state.globals, round: round)
                    state.take(
                        try step.values(from: answer, in: scope, label: "'\(requests[0].endpoint)'"), user: owner)
                }
            }
        }
        if var merged {
            // The race's outcomes, by the names the file gives them: what the report shows beside the spread.
            let counts = OutcomeCounts(phases: [merged], outcomes: scenario.countedRequests)
            for (request, outcomes) in scenario.countedRequests.sorted(by: { $0.key < $1.key })
            where merged.endpoints.contains(where: { $0.name == request }) {
                let parts = (outcomes.map(\.name) + ["other", "unanswered"]).compactMap { outcome -> String? in
                    guard let count = counts.count(request: request, outcome: outcome) else { return nil }
                    return count == 0 && ["other", "unanswered"].contains(outcome) ? nil : "\(outcome) \(count)"
                }
                merged.facts.append("\(request): " + parts.joined(separator: ", "))
            }
            report.phases.append(merged)
            context.progress?.finished(merged)
        }
    }

    /// Throws when the target refused requests of a barrier as requests: a 4xx the request did not expect.
    static func requireCarriedOut(
        _ responses: [Result<LoadResponse, LoadError>], requests: [LoadRequest], phase: String
    ) throws {
        let refused = zip(responses, requests).compactMap { response, request -> LoadResponse? in
            guard let answer = try? response.get(), (400...499).contains(answer.status),
                !request.expected.contains(answer.status)
            else { return nil }
            return answer
        }
        guard let first = refused.first else { return }
        let body = String(decoding: first.body.readableBytesView.prefix(300), as: UTF8.self)
        throw SetupError(
            "the target refused \(refused.count) of \(responses.count) requests of '\(phase)' with \(first.status), "
                + "so the race did not happen: \(body)")
    }

    // MARK: Values

    private func outcomeCounts(_ phases: [PhaseReport]) -> OutcomeCounts {
        OutcomeCounts(phases: phases, outcomes: scenario.countedRequests)
    }

    private func count(
        _ expression: ScenarioExpression, in scope: UserScope, _ what: String, maximum: Int = .max
    ) throws(ScenarioError) -> Int {
        guard case .int(let value) = try expression.evaluate(in: scope), value >= 1, value <= maximum else {
            throw ScenarioError(
                "\(what) must be a whole number ≥ 1" + (maximum == .max ? "" : " and ≤ \(maximum) (the users)"),
                at: expression.origin)
        }
        return value
    }

    private func number(
        _ expression: ScenarioExpression, in scope: UserScope, _ what: String
    ) throws(ScenarioError)
        -> Double
    {
        guard let value = try expression.evaluate(in: scope).number, value > 0 else {
            throw ScenarioError("\(what) must be a number > 0", at: expression.origin)
        }
        return value
    }

    /// A time the file gives; `zero` where nothing (a think time of `0ms`) makes sense.
    private func time(
        _ template: ScenarioTemplate, in scope: UserScope, zero: Bool = false
    ) throws(ScenarioError) -> TimeAmount {
        let text = try template.render(in: scope)
        guard let time = TimeAmount(parsing: text), time > .zero || (zero && time == .zero) else {
            throw ScenarioError("'\(text)' is not a time with a unit: 500ms, 10s, 2m", at: template.origin)
        }
        return time
    }
}

/// The users of one run, provisioned once and shared by its scenarios whose provisioning is the same (the race
/// grid's races, the demo's suites), so a run registers each account once.
public actor ScenarioUserPool {
    /// The run id the users' templates saw.
    public nonisolated let runID: String
    private var users: [String: [UserValues]] = [:]

    public init(runID: String = ScenarioRunner.newRunID()) {
        self.runID = runID
    }

    /// The first `count` users made with `key`'s provisioning; when there are too few, `make` makes the users of
    /// the indices missing.
    func users(
        _ count: Int, key: String, make: @Sendable (Range<Int>) async throws -> [UserValues]
    ) async throws
        -> [UserValues]
    {
        let existing = users[key] ?? []
        if existing.count >= count { return Array(existing.prefix(count)) }
        let all = existing + (try await make(existing.count..<count))
        users[key] = all
        return all
    }
}

/// The requests of an open phase: each arrival is one request of a task chosen by weight, for user `arrival % n`.
/// Requests that read nothing volatile are built once per user; an error while building one is kept and ends the
/// run after the phase (the arrival then repeats that user's first request, which was built before the phase).
final class OpenArrivals: Sendable {
    private let tasks: [ScenarioFile.Task]
    private let draw: TaskDraw
    private let users: [UserValues]
    private let globals: [String: ScenarioValue]
    private let userHeaders: [ScenarioFile.Header]
    /// Per user and task: the request built before the phase, and whether it can be reused as is.
    private let built: [[LoadRequest]]
    private let fixed: [Bool]
    private let firstError = Mutex<ScenarioError?>(nil)

    init(
        phase: ScenarioFile.Phase, users: [UserValues], globals: [String: ScenarioValue],
        userHeaders: [ScenarioFile.Header]
    ) throws(ScenarioError) {
        tasks = phase.tasks
        draw = TaskDraw(phase.tasks)
        self.users = users
        self.globals = globals
        self.userHeaders = userHeaders
        // An open phase captures nothing (the checker sees to it), so only the arrival's number changes.
        fixed = phase.tasks.map { $0.steps[0].isFixed(userHeaders: userHeaders, changing: ["iteration"]) }
        var built: [[LoadRequest]] = []
        for values in users {
            var row: [LoadRequest] = []
            for task in phase.tasks {
                let scope = UserScope(user: values, globals: globals, iteration: 0)
                row.append(try task.steps[0].render(in: scope, userHeaders: userHeaders))
            }
            built.append(row)
        }
        self.built = built
    }

    var error: ScenarioError? { firstError.withLock { $0 } }

    /// The request of arrival `iteration` (the open executor numbers arrivals per pacer).
    var next: Scenario {
        { user, iteration in self.request(user: user, iteration: iteration) }
    }

    private func request(user: Int, iteration: Int) -> LoadRequest {
        let index = user % users.count
        let task = draw.next()
        if fixed[task] { return built[index][task] }
        do {
            let scope = UserScope(user: users[index], globals: globals, iteration: iteration)
            return try tasks[task].steps[0].render(in: scope, userHeaders: userHeaders, isSentOnce: true)
        } catch {
            firstError.withLock { if $0 == nil { $0 = error } }
            return built[index][task]
        }
    }
}

extension ScenarioFile {
    /// What makes two scenarios' users interchangeable: the same provisioning requests and accounts.
    var provisioningKey: String {
        ([users.accounts?.path ?? ""]
            + users.provision.map { request in
                "\(request.method) \(request.path.text) \(request.payload.map { "\($0)" } ?? "")"
            }).joined(separator: "\n")
    }
}

extension ScenarioFile {
    /// Each phase's name with `variables` written in (as written, where it reads what only the run knows).
    public func phaseNames(with variables: [String: ScenarioValue]) -> [String] {
        phases.map { (try? $0.name.render(in: UserScope(user: [:], globals: variables))) ?? $0.name.text }
    }
}
