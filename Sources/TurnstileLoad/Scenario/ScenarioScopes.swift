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
    let outcomes: [String: [ScenarioFile.Outcome]]

    func count(request: String, outcome: String?) -> Int? {
        let stats = phases.flatMap(\.endpoints).filter { $0.name == request }
        guard let named = outcomes[request] else { return nil }
        if let outcome, !Self.builtIn.contains(outcome), !named.contains(where: { $0.name == outcome }) { return nil }
        var total = 0
        for endpoint in stats {
            let counts = Self.counts(
                statuses: endpoint.statusCounts, classified: endpoint.outcomeCounts, outcomes: named)
            switch outcome {
            case nil: total += Int(endpoint.responses + endpoint.errors)
            case "answered": total += Int(endpoint.responses)
            case "unanswered": total += Int(endpoint.errors)
            case let name?: total += counts[name, default: 0]
            }
        }
        return total
    }

    static let builtIn: Set<String> = ["answered", "unanswered", "other"]

    /// Each named outcome's answers, and `other` (answered, in none): counted as they were recorded when the
    /// outcomes read bodies (`classified`, each answer in its first match), otherwise from the status counts.
    static func counts(
        statuses: [String: UInt64], classified: [String: UInt64], outcomes: [ScenarioFile.Outcome]
    ) -> [String: Int] {
        func answers(_ matching: (Int) -> Bool) -> Int {
            statuses.reduce(0) { sum, entry in matching(Int(entry.key) ?? 0) ? sum + Int(entry.value) : sum }
        }
        var counts: [String: Int] = [:]
        if outcomes.contains(where: { $0.body != nil }) {
            for outcome in outcomes { counts[outcome.name] = Int(classified[outcome.name] ?? 0) }
            counts["other"] = answers { _ in true } - outcomes.reduce(0) { $0 + counts[$1.name]! }
        } else {
            for outcome in outcomes { counts[outcome.name] = answers(outcome.statuses.contains) }
            counts["other"] = answers { status in !outcomes.contains { $0.statuses.contains(status) } }
        }
        return counts
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
    func value(outcomes: [String: [ScenarioFile.Outcome]]) -> ScenarioValue {
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

    private static func value(_ endpoint: Endpoint, outcomes: [ScenarioFile.Outcome]) -> ScenarioValue {
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
        let counts = OutcomeCounts.counts(
            statuses: endpoint.statuses, classified: endpoint.outcomes, outcomes: outcomes)
        for outcome in outcomes { fields[outcome.name] = .int(counts[outcome.name] ?? 0) }
        return .object(fields)
    }
}
