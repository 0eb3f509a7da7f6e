import TurnstileReport

/// What the clients of a race saw: successes, refusals, anything else, and requests that got no answer at all (the
/// server may or may not have carried those out).
struct Seen {
    let successes: Int
    let refusals: Int
    let otherStatuses: Int
    let unanswered: Int

    /// Counts `responses` by status: `success` (201 unless said otherwise) and `refusal` (409 unless said otherwise).
    init(_ responses: [Result<LoadResponse, LoadError>], success: Int = 201, refusal: Int = 409) {
        let statuses = responses.map { (try? $0.get())?.status }
        successes = statuses.filter { $0 == success }.count
        refusals = statuses.filter { $0 == refusal }.count
        unanswered = statuses.filter { $0 == nil }.count
        otherStatuses = statuses.count - successes - refusals - unanswered
    }

    /// The rules the answers alone can judge for `attempts` requests of which exactly `expected` must succeed. With
    /// every request answered they are exact; unanswered requests (reported as errors) leave only the bounds that
    /// hold whatever became of them.
    func checks(expected: Int, attempts: Int, phase: String, noun: String) -> [InvariantResult] {
        var checks = [
            InvariantResult(
                phase: phase, rule: "\(noun) granted ≤ \(expected) (never more than there is)",
                expected: "≤ \(expected)", actual: String(successes), passed: successes <= expected),
            .equal(otherStatuses, 0, phase: phase, rule: "every answer is a grant or a refusal"),
        ]
        if unanswered == 0 {
            checks += [
                .equal(successes, expected, phase: phase, rule: "\(noun) granted = \(expected) (never fewer)"),
                .equal(refusals, attempts - expected, phase: phase, rule: "every other request is refused"),
            ]
        }
        return checks
    }

    /// The range a stored count must fall in: the successes, plus at most the unanswered requests.
    var storedRange: ClosedRange<Int> { successes...(successes + unanswered) }
}

extension InvariantResult {
    /// `actual` must lie in `range` (a single value prints as itself).
    static func within(_ actual: Int, _ range: ClosedRange<Int>, phase: String, rule: String) -> InvariantResult {
        InvariantResult(
            phase: phase, rule: rule, expected: range.count == 1 ? String(range.lowerBound) : "\(range)",
            actual: String(actual), passed: range.contains(actual))
    }
}
