import TurnstileReport

/// What a ramp's `stop` condition reads: one stage's figures (or one endpoint's, or one second's), and the run's
/// variables.
struct StageScope: ScenarioScope {
    /// The figures, as the condition names them: latencies in milliseconds (infinite when nothing was answered),
    /// `rate` in requests per second.
    static let names = ["requests", "failures", "failure_ratio", "rate", "p50_ms", "p95_ms", "p99_ms", "users"]

    let figures: [String: ScenarioValue]
    let globals: [String: ScenarioValue]

    init(
        requests: UInt64, failures: UInt64, latency: LatencyHistogram, seconds: Double, users: Int,
        globals: [String: ScenarioValue]
    ) {
        func milliseconds(_ percentile: Double) -> ScenarioValue {
            // Nothing answered: later than any limit, as a recovery that never came is.
            .double(latency.isEmpty ? .infinity : Double(latency.percentile(percentile)) / 1_000)
        }
        figures = [
            "requests": .int(Int(requests)), "failures": .int(Int(failures)),
            "failure_ratio": .double(requests == 0 ? 0 : Double(failures) / Double(requests)),
            "rate": .double(seconds > 0 ? Double(requests) / seconds : 0),
            "p50_ms": milliseconds(50), "p95_ms": milliseconds(95), "p99_ms": milliseconds(99), "users": .int(users),
        ]
        self.globals = globals
    }

    /// The figures of `stats` over `seconds`.
    init(_ stats: EndpointStats, seconds: Double, users: Int, globals: [String: ScenarioValue]) {
        self.init(
            requests: stats.requests, failures: stats.failures, latency: stats.latency, seconds: seconds, users: users,
            globals: globals)
    }

    func value(of name: String) -> ScenarioValue? { figures[name] ?? globals[name] }
    func count(request: String, outcome: String?) -> Int? { nil }
    func rate(of request: String) -> Double? { nil }
}

extension ScenarioExpression {
    /// Whether this `stop` condition holds for `stage`, every endpoint together. A stage that sent nothing (a machine
    /// too busy to start a request in it) cannot be judged: it does not stop the ramp, and the run says it sent
    /// nothing.
    func stops(_ stage: PhaseReport, globals: [String: ScenarioValue]) throws(ScenarioError) -> Bool {
        let overall = stage.overall
        guard overall.requests > 0 else { return false }
        return try isTrue(in: StageScope(overall, seconds: stage.durationSeconds, users: stage.users, globals: globals))
    }

    /// The breaking point of the ramp `name` that stopped at the last of `stages`: what met this condition, which
    /// endpoint met it first (the earliest second in which one endpoint's own figures met it; else the endpoints
    /// whose figures over the whole stage did), and the stage before.
    func breakingPoint(
        of name: String, stages: [PhaseReport], globals: [String: ScenarioValue]
    ) throws(ScenarioError) -> BreakingPoint {
        let stage = stages[stages.count - 1]
        let overall = stage.overall
        let reasons = try partsThatHold(
            in: StageScope(overall, seconds: stage.durationSeconds, users: stage.users, globals: globals))
        var firstBroke: [String] = []
        var firstSecond: Int?
        seconds: for second in stage.timeline {
            for (endpoint, counts) in second.endpoints.sorted(by: { $0.key < $1.key }) where counts.requests > 0 {
                let scope = StageScope(
                    requests: counts.requests, failures: counts.failures, latency: counts.latency, seconds: 1,
                    users: stage.users, globals: globals)
                if (try? isTrue(in: scope)) == true { firstBroke.append(endpoint) }
            }
            if !firstBroke.isEmpty {
                firstSecond = second.second
                break seconds
            }
        }
        if firstBroke.isEmpty {
            for endpoint in stage.endpoints {
                let scope = StageScope(endpoint, seconds: stage.durationSeconds, users: stage.users, globals: globals)
                if (try? isTrue(in: scope)) == true { firstBroke.append(endpoint.name) }
            }
        }
        return BreakingPoint(
            ramp: name, condition: text, broke: .init(stage), reasons: reasons, firstBroke: firstBroke,
            firstBrokeSecond: firstSecond, held: stages.count > 1 ? .init(stages[stages.count - 2]) : nil)
    }
}
