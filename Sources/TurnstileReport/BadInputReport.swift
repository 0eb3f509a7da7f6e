/// One generated bad input a scenario's bad-input phase sent, and how the target took it.
public struct BadInputCase: Codable, Sendable, Equatable {
    /// How the target took a bad input.
    public enum Verdict: String, Codable, Sendable {
        /// Answered 4xx: refused, as it should be.
        case refused
        /// Answered 2xx or 3xx: taken as valid. Not a failure (a missing optional field is valid), but listed.
        case accepted
        /// Answered 5xx.
        case serverError = "server error"
        /// No answer within the phase's timeout.
        case hang
        /// The connection closed (or was reset) without an answer: not the clear 4xx a bad input should get.
        case closed = "closed without an answer"
        /// Answered before the whole request was sent, as a server refusing a body it will not read does; the engine
        /// does not read such an answer, so its status is unknown. Listed, not a failure.
        case answeredEarly = "answered before it was sent in full"
        /// The target stopped answering its probe after this input (or the batch it was sent in).
        case crash

        public var isFailure: Bool { ![.refused, .accepted, .answeredEarly].contains(self) }
    }

    public var phase: String
    /// The scenario request it was made from.
    public var request: String
    /// What was wrong with it: `body.quantity: negative`, `no Authorization`, `unknown id in the path`.
    public var input: String
    public var verdict: Verdict
    /// The status, when answered.
    public var status: Int?
    /// The first bytes of the answer, or why there was none.
    public var detail: String

    public init(
        phase: String, request: String, input: String, verdict: Verdict, status: Int?, detail: String
    ) {
        self.phase = phase
        self.request = request
        self.input = input
        self.verdict = verdict
        self.status = status
        self.detail = detail
    }
}
