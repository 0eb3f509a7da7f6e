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

    func value(of name: String) -> ScenarioValue? {
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
