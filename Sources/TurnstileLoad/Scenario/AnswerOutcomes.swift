import NIOCore
import TurnstileReport

extension ScenarioFile {
    /// A named kind of answer, counted by `count(request.outcome)`: a set of statuses, and optionally what the body
    /// must say (two 409s, "not enough seats" and "high demand, try again", are different outcomes).
    public struct Outcome: Sendable {
        public let name: String
        public let statuses: StatusSet
        public let body: BodyMatch?
    }

    /// What an outcome's answer body must say.
    public enum BodyMatch: Sendable {
        /// The body holds this text (JSON or not).
        case contains(String)
        /// The body is JSON and this expression, reading it as `body`, is true.
        case json(ScenarioExpression)
    }
}

/// A request's outcomes when one of them reads the answer's body: each answer is counted, as it is recorded, in the
/// first outcome it matches (in the file's order), or in none. Outcomes of statuses alone are counted from the
/// status counts afterwards and need none of this, so only requests that read bodies pay for it.
public final class AnswerOutcomes: Sendable {
    public let outcomes: [ScenarioFile.Outcome]

    /// Nil when no outcome reads a body.
    init?(_ outcomes: [ScenarioFile.Outcome]) {
        guard outcomes.contains(where: { $0.body != nil }) else { return nil }
        self.outcomes = outcomes
    }

    /// The name of the first outcome `response` matches; nil for none.
    func classify(_ response: LoadResponse) -> String? {
        var json: ScenarioValue??
        for outcome in outcomes where outcome.statuses.contains(response.status) {
            switch outcome.body {
            case nil:
                return outcome.name
            case .contains(let text):
                if response.body.readableBytesView.firstRange(of: text.utf8) != nil { return outcome.name }
            case .json(let check):
                // Parsed once, for the first outcome that reads it; a body that is not JSON matches none.
                if json == nil { json = .some(ScenarioValue(jsonBytes: response.body.readableBytesView)) }
                guard case .some(.some(let body)) = json else { continue }
                if (try? check.isTrue(in: AnswerScope(body: body))) == true { return outcome.name }
            }
        }
        return nil
    }
}

/// What an outcome's `where` reads: the answer's JSON, as `body`.
struct AnswerScope: ScenarioScope {
    static let names: Set<String> = ["body"]

    let body: ScenarioValue

    func value(of name: String) -> ScenarioValue? { name == "body" ? body : nil }
    func count(request: String, outcome: String?) -> Int? { nil }
    func rate(of request: String) -> Double? { nil }
}
