import Foundation
import NIOCore
import TurnstileReport

/// What the clients of a race saw: successes, refusals, anything else, and requests that got no answer at all (the
/// server may or may not have carried those out).
struct Seen {
    let successes: Int
    let refusals: Int
    let otherStatuses: Int
    let unanswered: Int
    /// The first answer that refused the request itself (a 4xx other than the race's refusal), e.g. a 422 for a
    /// seat count the target does not allow.
    let firstRefusedRequest: LoadResponse?
    let refusedRequests: Int

    /// Counts `responses` by status: `success` (201 unless said otherwise) and `refusal` (409 unless said otherwise).
    init(_ responses: [Result<LoadResponse, LoadError>], success: Int = 201, refusal: Int = 409) {
        let answers = responses.compactMap { try? $0.get() }
        successes = answers.filter { $0.status == success }.count
        refusals = answers.filter { $0.status == refusal }.count
        unanswered = responses.count - answers.count
        otherStatuses = answers.count - successes - refusals
        let refused = answers.filter { (400...499).contains($0.status) && $0.status != refusal }
        firstRefusedRequest = refused.first
        refusedRequests = refused.count
    }

    /// Throws when the target refused requests of the race as requests (a 4xx other than the race's refusal): the
    /// race asked for was not run, so it could not be carried out (exit 3); it says nothing about overselling.
    func requireCarriedOut(_ phase: String) throws {
        guard let refused = firstRefusedRequest else { return }
        let body = String(decoding: refused.body.readableBytesView.prefix(300), as: UTF8.self)
        throw SetupError(
            "the target refused \(refusedRequests) of \(successes + refusals + otherStatuses + unanswered) requests "
                + "of '\(phase)' with \(refused.status), so the race did not happen: \(body)")
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
