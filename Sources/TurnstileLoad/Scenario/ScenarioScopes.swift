import TurnstileReport

/// A user's values: the built-in `user` (its index), its CSV columns, and what its requests captured or computed.
typealias UserValues = [String: ScenarioValue]

/// Where a user's request looks names up: the loop's iteration and the barrier's round, then the user's values,
/// then the run's (variables, `run`, set-up and read-back captures).
struct UserScope: ScenarioScope {
    let user: UserValues
    let globals: [String: ScenarioValue]
    var iteration: Int?
    var round: Int?

    func value(of name: String) -> ScenarioValue? {
        if name == "iteration", let iteration { return .int(iteration) }
        if name == "round", let round { return .int(round) }
        return user[name] ?? globals[name]
    }
}

/// Where invariants and notes look names up: the run's values, then every value a per-user name took (lists
/// joined, in user order), and the counts of what the phases saw.
struct SummaryScope: ScenarioScope {
    let globals: [String: ScenarioValue]
    let history: [String: [ScenarioValue]]
    let counts: OutcomeCounts
    /// Names whose values are unknown (what a read-back that failed would have captured).
    var hidden: Set<String> = []

    func value(of name: String) -> ScenarioValue? {
        if hidden.contains(name) { return nil }
        if let value = globals[name] { return value }
        guard let values = history[name] else { return nil }
        return .list(
            values.flatMap { value -> [ScenarioValue] in
                if case .list(let items) = value { return items }
                return [value]
            })
    }

    func count(request: String, outcome: String?) -> Int? {
        counts.count(request: request, outcome: outcome)
    }

    func rate(of request: String) -> Double? {
        counts.rate(of: request)
    }
}

/// Counts of answers by request name and outcome, from the phases' statistics: the same numbers the report shows.
struct OutcomeCounts {
    let phases: [PhaseReport]
    /// Each request name's named outcomes.
    let outcomes: [String: [(name: String, statuses: StatusSet)]]

    func count(request: String, outcome: String?) -> Int? {
        let stats = phases.flatMap(\.endpoints).filter { $0.name == request }
        guard let named = outcomes[request] else { return nil }
        var total = 0
        for endpoint in stats {
            let answered = endpoint.statusCounts.reduce(0) { $0 + Int($1.value) }
            let unanswered = endpoint.errorCounts.values.reduce(0) { $0 + Int($1) }
            func answers(in statuses: [StatusSet]) -> Int {
                endpoint.statusCounts.reduce(0) { sum, entry in
                    let status = Int(entry.key) ?? 0
                    return statuses.contains { $0.contains(status) } ? sum + Int(entry.value) : sum
                }
            }
            switch outcome {
            case nil: total += answered + unanswered
            case "answered": total += answered
            case "unanswered": total += unanswered
            case "other": total += answered - answers(in: named.map(\.statuses))
            case let name?:
                guard let statuses = named.first(where: { $0.name == name })?.statuses else { return nil }
                total += answers(in: [statuses])
            }
        }
        return total
    }

    func rate(of request: String) -> Double? {
        let sending = phases.filter { $0.endpoints.contains { $0.name == request } }
        guard !sending.isEmpty else { return outcomes[request] == nil ? nil : 0 }
        let seconds = sending.map(\.durationSeconds).reduce(0, +)
        let answered = count(request: request, outcome: "answered") ?? 0
        return Double(answered) / max(seconds, 1e-9)
    }
}

extension FaultReport {
    /// The window names a scenario reads of a fault: `faults.NAME.during`.
    static let windowNames = ["before", "during", "after"]
    /// The fields of a fault besides its windows: seconds into its phase, and after its end.
    static let timeFields = ["began_s", "ended_s", "first_success_s", "recovery_s"]
    /// The fields of a window's endpoint (and of `all`, every endpoint together); latencies in milliseconds.
    static let endpointFields = [
        "requests", "failures", "failure_ratio", "unanswered", "p50_ms", "p95_ms", "p99_ms", "longest_ms", "statuses",
        "first_success_s",
    ]

    /// The fault as expressions read it, `faults.NAME…`: its times, and each window's endpoints by name and `all`,
    /// with each request's named outcomes counted. A recovery or first success the run did not see is infinitely
    /// late (`never`), so `<= 5` fails; a time or latency that was not measured is null, which no comparison accepts.
    func value(outcomes: [String: [(name: String, statuses: StatusSet)]]) -> ScenarioValue {
        func seconds(_ value: Double?) -> ScenarioValue { value.map { .double(Self.rounded($0)) } ?? .null }
        var fields: [String: ScenarioValue] = [
            "began_s": seconds(began), "ended_s": seconds(ended),
            "first_success_s": ended == nil ? .null : .double(firstSuccessSeconds.map(Self.rounded) ?? .infinity),
            "recovery_s": ended == nil ? .null : .double(recoverySeconds.map(Self.rounded) ?? .infinity),
        ]
        for name in Self.windowNames {
            let window = window(name) ?? Window(name: name, from: 0, to: 0, endpoints: [])
            var endpoints: [String: ScenarioValue] = ["all": Self.value(window.overall, outcomes: [])]
            for endpoint in window.endpoints {
                endpoints[endpoint.name] = Self.value(endpoint, outcomes: outcomes[endpoint.name] ?? [])
            }
            fields[name] = .object(endpoints)
        }
        return .object(fields)
    }

    /// Three decimals: milliseconds to the microsecond, seconds to the millisecond, as the engine measures them.
    private static func rounded(_ value: Double) -> Double { (value * 1_000).rounded() / 1_000 }

    private static func value(_ endpoint: Endpoint, outcomes: [(name: String, statuses: StatusSet)]) -> ScenarioValue {
        let latency = endpoint.latency
        func milliseconds(_ percentile: Double) -> ScenarioValue {
            latency.isEmpty ? .null : .double(rounded(Double(latency.percentile(percentile)) / 1_000))
        }
        var fields: [String: ScenarioValue] = [
            "requests": .int(Int(endpoint.requests)), "failures": .int(Int(endpoint.failures)),
            "failure_ratio": endpoint.failureRatio.map { .double($0) } ?? .null,
            "unanswered": .int(Int(endpoint.unanswered)),
            "p50_ms": milliseconds(50), "p95_ms": milliseconds(95), "p99_ms": milliseconds(99),
            "longest_ms": endpoint.requests == 0
                ? .null : .double(rounded(Double(endpoint.longestMicroseconds) / 1_000)),
            "statuses": .object(endpoint.statuses.mapValues { .int(Int($0)) }),
            // Requests, none answered as expected: success never came, infinitely late.
            "first_success_s": endpoint.requests == 0
                ? .null : .double(endpoint.firstSuccessSeconds.map(rounded) ?? .infinity),
        ]
        for (name, statuses) in outcomes {
            fields[name] = .int(
                Int(
                    endpoint.statuses.reduce(0) { sum, entry in
                        statuses.contains(Int(entry.key) ?? 0) ? sum + entry.value : sum
                    }))
        }
        return .object(fields)
    }
}
