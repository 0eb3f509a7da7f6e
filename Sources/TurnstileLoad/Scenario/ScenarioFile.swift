import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// A scenario, read from its file and checked: who the users are and how they get their identity, what is set up,
/// the phases of traffic, what is read back afterwards, and what must then hold. See `docs/scenarios.md`.
public struct ScenarioFile: Sendable {
    /// The scenario's name: the run's suite in the report.
    public var name: String
    public var summary: String?
    /// The variables and their defaults, in the file's order; `--set name=value` overrides them.
    public var variables: [Variable]
    public var users: Users
    /// Requests sent once before the phases, as the first user.
    public var setup: [Request]
    public var phases: [Phase]
    /// Requests sent after the phases: once, or once per user.
    public var readback: [Request]
    public var invariants: [Invariant]
    /// What must hold for the run to have proven anything (the kill cut answers off, the fault showed): one that does
    /// not makes the run "could not be carried out" (exit 3), not "broken"; one that does is a row of the invariants.
    public var requirements: [Invariant] = []
    /// Threshold texts, as on the command line.
    public var thresholds: [String]
    /// Lines added to the report's notes, rendered after the invariants are judged.
    public var notes: [ScenarioTemplate]
    /// Processes the scenario starts before the run and stops after it (the service under test, a dependency).
    public var processes: [OwnedProcess] = []
    /// Links the fault proxy sits on for the whole run.
    public var proxies: [LinkProxy] = []
    /// Faults on the phases' timeline.
    public var faults: [FaultStep] = []
    /// Live-feed subscribers, open from before the first phase until after the last.
    public var subscribers: [Subscribers] = []
    /// Where the file came from, for messages.
    public var file: String
    /// The file's text, as read: the shards of a run check that they run the same.
    public internal(set) var text = ""
    /// The folder the file is in: its CSV files are read there, and its processes run there. Nil for a scenario
    /// read from text alone (the current folder then).
    public var folder: URL?
    /// Whether it is one of the built-in suites' files (`scenarios/`), which read Turnstile's answers.
    public var isBundled = false

    public struct Variable: Sendable {
        public let name: String
        public let value: ScenarioValue
        public let position: SourcePosition
    }

    /// Who the virtual users are.
    public struct Users: Sendable {
        /// How many; a number or an expression over the variables.
        public var count: ScenarioExpression?
        /// Existing accounts, one row per user, its columns the user's values.
        public var accounts: Accounts?
        /// Requests each user sends once, in order, before the phases (register, log in): set-up, not measured.
        public var provision: [Request]
        /// Headers every request of the user carries (`Authorization: Bearer ${token}`).
        public var headers: [Header]
    }

    /// Rows of a CSV file of existing accounts.
    public struct Accounts: Sendable {
        public let path: String
        public let columns: [String]
        public let rows: [[String: String]]
        public let position: SourcePosition
    }

    public struct Header: Sendable {
        public let name: String
        public let value: ScenarioTemplate
        /// The names its value reads, found once.
        let reads: [String]

        init(name: String, value: ScenarioTemplate) {
            self.name = name
            self.value = value
            reads = value.expressions.flatMap { $0.names.map(\.name[0]) }
        }
    }

    /// One request, as the file describes it. A class: immutable once read, and shared by every user that sends
    /// it, so the hot loop of a phase never copies it.
    public final class Request: Sendable {
        /// The statistics' endpoint name.
        public let name: ScenarioTemplate
        public let method: HTTPMethod
        public let path: ScenarioTemplate
        public let headers: [Header]
        /// Headers its user carries that this request goes without (`Authorization: null`).
        public let droppedHeaders: [String]
        public let payload: Payload?
        /// The statuses that count as expected: any other is a failure.
        public let expected: StatusSet
        /// Named kinds of answer, counted by `count(name.outcome)`.
        public let outcomes: [Outcome]
        /// The outcomes, when one reads the answer's body: each answer is then classified as it is recorded.
        public let answerOutcomes: AnswerOutcomes?
        /// Values taken from a 2xx answer's JSON body.
        public let captures: [Capture]
        /// Values computed after the answer, whatever its status.
        public let lets: [(name: String, expression: ScenarioExpression)]
        /// Sent only for the users for whom this holds.
        public let when: ScenarioExpression?
        /// The key of the event the request causes on the scenario's live feeds (the bid's amount), when it does.
        public let publishes: ScenarioExpression?
        /// Whether `publishes` reads the answer (`body.purchase.ref`) rather than what the request is sent with.
        let publishesFromAnswer: Bool
        /// Whether set-up may send it again after a failure that left its fate unknown.
        public let retry: Bool
        /// For read-back: once per user rather than once.
        public let perUser: Bool
        public let position: SourcePosition

        init(
            name: ScenarioTemplate, method: HTTPMethod, path: ScenarioTemplate, headers: [Header],
            droppedHeaders: [String] = [], payload: Payload?, expected: StatusSet, outcomes: [Outcome],
            captures: [Capture],
            lets: [(name: String, expression: ScenarioExpression)], when: ScenarioExpression?,
            publishes: ScenarioExpression? = nil, retry: Bool, perUser: Bool, position: SourcePosition
        ) {
            self.name = name
            self.method = method
            self.path = path
            self.headers = headers
            self.droppedHeaders = droppedHeaders
            self.payload = payload
            self.expected = expected
            self.outcomes = outcomes
            answerOutcomes = AnswerOutcomes(outcomes)
            self.captures = captures
            self.lets = lets
            self.when = when
            self.publishes = publishes
            publishesFromAnswer = publishes?.names.contains { $0.name[0] == "body" } ?? false
            self.retry = retry
            self.perUser = perUser
            self.position = position
        }
    }

    public struct Capture: Sendable {
        public let name: String
        public let path: ScenarioTemplate
        public let position: SourcePosition
        /// The path, parsed once, when it has no template in it.
        let parsed: JSONPath?

        init(name: String, path: ScenarioTemplate, position: SourcePosition) throws(ScenarioError) {
            self.name = name
            self.path = path
            self.position = position
            guard let literal = path.literal else {
                parsed = nil
                return
            }
            do { parsed = try JSONPath(literal) } catch {
                throw ScenarioError(error.message, at: path.origin.advanced(by: error.offset))
            }
        }
    }

    /// What a request sends.
    public enum Payload: Sendable {
        /// JSON (`body:`), `Content-Type: application/json` unless the request says otherwise.
        case json(Body)
        /// Text as written (`raw:`), templates rendered: malformed JSON, XML, anything; `text/plain` unless said.
        case text(ScenarioTemplate)
        /// A form (`form:`), URL-encoded, `application/x-www-form-urlencoded`.
        case form([(String, ScenarioTemplate)])
        /// A file's bytes (`file:`), read once when the scenario is; `application/octet-stream` unless said.
        case file(path: String, bytes: ByteBuffer)

        /// The templates in it.
        var templates: [ScenarioTemplate] {
            switch self {
            case .json(let body): body.templates
            case .text(let template): [template]
            case .form(let fields): fields.map(\.1)
            case .file: []
            }
        }
    }

    /// A JSON body whose strings may hold templates.
    public indirect enum Body: Sendable {
        case value(ScenarioValue)
        case template(ScenarioTemplate)
        case list([Body])
        case object([(String, Body)])

        /// The templates in it.
        var templates: [ScenarioTemplate] {
            switch self {
            case .value: []
            case .template(let template): [template]
            case .list(let items): items.flatMap(\.templates)
            case .object(let fields): fields.flatMap(\.1.templates)
            }
        }
    }

    /// A group of live-feed subscribers: who connects where, and how a message names the event it reports.
    public struct Subscribers: Sendable {
        public enum Kind: String, Sendable {
            case websocket
            case sse
        }

        public let name: String
        public let kind: Kind
        /// How many; they take the users' values in turn (subscriber i is user i mod users).
        public let count: ScenarioExpression
        /// A path on the target (`ws://`/`wss://` follow its scheme), or a whole `ws://`, `wss://`, `http://` or
        /// `https://` URL.
        public let url: ScenarioTemplate
        public let headers: [Header]
        /// Text sent once connected (WebSocket).
        public let subscribe: ScenarioTemplate?
        /// The event a message reports, from its JSON read as `body`: the key the causing request `publishes`.
        public let key: ScenarioExpression
        /// Whether a subscriber counts as subscribed only at its first message (a greeting), not at the upgrade.
        public let awaitsFirstMessage: Bool
        /// How long the run waits, after the last phase, for deliveries still on their way.
        public let grace: ScenarioTemplate?
        public let position: SourcePosition
    }

    /// One request, or a short sequence whose captures pass along (order → pay), chosen by weight.
    public struct Task: Sendable {
        public var weight: Int
        public var steps: [Request]
        public var think: TimeAmount
    }

    public enum Executor: Sendable {
        /// Every user sends its request at the same instant: `rounds` times, `each` requests per user, with a pause
        /// of `think` between rounds.
        case barrier(rounds: ScenarioExpression?, each: ScenarioExpression?, think: ScenarioTemplate?)
        /// Users loop for `duration`, thinking `think` between tasks.
        case closed(duration: ScenarioTemplate, think: ScenarioTemplate?)
        /// Arrivals at `rate` per second (ramping to `rateEnd`), on at most `connections` connections.
        case open(
            rate: ScenarioExpression, rateEnd: ScenarioExpression?, duration: ScenarioTemplate,
            connections: ScenarioExpression?)
        /// Closed stages one after another, until one meets `stop` (its breaking point), if given.
        case ramp(stages: [(users: ScenarioExpression, duration: ScenarioTemplate)], stop: ScenarioExpression?)
        /// Bad inputs made from the phase's requests (or the scenario's), and from an OpenAPI document's operations
        /// when it names one, one at a time.
        case badInput(BadInput)

        /// The executor's name, as the file writes it.
        public var name: String {
            switch self {
            case .barrier: "barrier"
            case .closed: "closed"
            case .open: "open"
            case .ramp: "ramp"
            case .badInput: "bad_input"
            }
        }
    }

    /// How a bad-input phase sends: each input within `timeout`, the target's `probe` path asked after each, bodies
    /// past `bodyLimit` bytes when given, and the operations of an OpenAPI document besides the scenario's requests.
    public struct BadInput: Sendable {
        var probe: ScenarioTemplate?
        var bodyLimit: Int?
        var timeout: ScenarioTemplate?
        var openAPI: OpenAPISource?
    }

    /// Where a bad-input phase's OpenAPI document is, and the values of the path parameters it names.
    public struct OpenAPISource: Sendable {
        enum Document: Sendable {
            /// A path on the target, fetched as the phase starts.
            case target(ScenarioTemplate)
            /// A file beside the scenario, read with it.
            case file(path: String, OpenAPIBadInputs)
        }
        let document: Document
        /// A path parameter's value by its name (`id: ${event_id}`), rendered in the first user's scope.
        let parameters: [(name: String, value: ScenarioTemplate)]
    }

    public struct Phase: Sendable {
        public var name: ScenarioTemplate
        public var executor: Executor
        public var tasks: [Task]
        /// The first this many users take part; all by default.
        public var users: ScenarioExpression?
        public var position: SourcePosition

        /// The names its requests capture or compute with `let`: the values that change while it runs.
        var namesSet: Set<String> {
            Set(tasks.flatMap(\.steps).flatMap { $0.captures.map(\.name) + $0.lets.map(\.name) })
        }
    }

    public struct Invariant: Sendable {
        public var name: ScenarioTemplate
        public var check: ScenarioExpression
        /// Judged only when this holds (e.g. when every request was answered).
        public var when: ScenarioExpression?
        /// The phase its row belongs to; the last phase's by default.
        public var phase: ScenarioTemplate?
    }

    /// Every request of the file, wherever it is.
    var allRequests: [Request] {
        users.provision + setup + phaseRequests + readback
    }

    /// The requests the phases send: the measured ones.
    var phaseRequests: [Request] {
        phases.flatMap { $0.tasks.flatMap(\.steps) }
    }

    /// The requests `count(request.outcome)` can name (the phases' requests with a fixed name), each with its named
    /// outcomes (the built-in ones are not among them).
    var countedRequests: [String: [Outcome]] {
        var outcomes: [String: [Outcome]] = [:]
        for request in phaseRequests {
            if let name = request.name.literal { outcomes[name, default: []] += request.outcomes }
        }
        return outcomes
    }

    /// The endpoint names the phases' statistics use, when every one is fixed (no template in a name).
    public var endpoints: [String]? {
        var names: [String] = []
        for request in phaseRequests {
            guard let name = request.name.literal else { return nil }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}
