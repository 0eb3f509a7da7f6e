import Foundation
import NIOCore

extension ScenarioFile {
    /// A process the scenario owns: started before the run, waited for until ready, restarted by a fault, and
    /// stopped at the end (TERM, then KILL). Its output goes to a file of its own, never to the console.
    public struct OwnedProcess: Sendable {
        public let name: String
        /// The command line: `["python3", "app.py"]`, or `["/bin/sh", "-c", text]` for a command written as one
        /// string. Each argument may hold templates over the variables.
        public let command: [ScenarioTemplate]
        /// Added to the engine's environment.
        public let environment: [(name: String, value: ScenarioTemplate)]
        /// How the engine knows it is ready; without one, it is ready once started.
        public let ready: Readiness?
        /// How long it may take to become ready.
        public let readyTimeout: TimeAmount
        /// How long it has to end after TERM before it gets KILL.
        public let stopTimeout: TimeAmount
        /// Started only when this holds (an expression over the variables); always when nil.
        public let when: ScenarioExpression?
        /// Whether its CPU and memory (with its children's) are sampled beside the load, as `--watch-pid` would.
        public let watch: Bool
        public let position: SourcePosition
    }

    /// How a started process shows that it is ready.
    public enum Readiness: Sendable {
        /// A URL that answers over HTTP (any status below 500).
        case url(ScenarioTemplate)
        /// A TCP address, HOST:PORT, that accepts a connection.
        case port(ScenarioTemplate)
        /// A line of its output that contains this text.
        case log(String)
    }

    /// A TCP link the built-in fault proxy sits on for the whole run: the service under test is pointed at `listen`,
    /// the proxy forwards to `upstream`, and faults put effects on it.
    public struct LinkProxy: Sendable {
        public let name: String
        /// HOST:PORT, each may hold templates.
        public let listen: ScenarioTemplate
        public let upstream: ScenarioTemplate
        public let position: SourcePosition
    }

    /// A fault on the scenario's timeline: what it does, when it begins (in a phase), and what ends it.
    public struct FaultStep: Sendable {
        /// Its name: how the report and `faults.NAME` in expressions call it.
        public let name: String
        /// The index of the phase whose start `at` counts from, and in which `after_answers` counts.
        public let phase: Int
        /// When it begins, as written: a time or a count, either may read the variables.
        public let start: StartSpec
        /// How long it lasts, as written; nil for a restart, which lasts until the process is ready again.
        public let length: ScenarioTemplate?
        public let action: Action
        public let position: SourcePosition

        public enum StartSpec: Sendable {
            /// `at: 3s`: this long after the phase starts.
            case at(ScenarioTemplate)
            /// `after_answers: 40`: once the phase has had this many answers.
            case afterAnswers(ScenarioExpression)
        }

        public enum Start: Sendable, Equatable {
            /// This long after the phase starts.
            case at(TimeAmount)
            /// Once the phase has had this many answers (or requests that ended without one).
            case afterAnswers(Int)
        }

        /// When it begins and how long it lasts, with the variables written in; an error names the file position.
        func timing(in scope: some ScenarioScope) throws(ScenarioError) -> (start: Start, length: TimeAmount?) {
            let start: Start
            switch self.start {
            case .at(let template):
                start = .at(try Self.time(template, "'at'", in: scope, zeroAllowed: true))
            case .afterAnswers(let expression):
                guard case .int(let count) = try expression.evaluate(in: scope), count >= 1 else {
                    throw ScenarioError("'after_answers' must be a whole number ≥ 1", at: expression.origin)
                }
                start = .afterAnswers(count)
            }
            return (
                start,
                try length.map { template throws(ScenarioError) in
                    try Self.time(template, "'for'", in: scope, zeroAllowed: false)
                }
            )
        }

        private static func time(
            _ template: ScenarioTemplate, _ what: String, in scope: some ScenarioScope, zeroAllowed: Bool
        ) throws(ScenarioError) -> TimeAmount {
            let text = try template.render(in: scope)
            guard let time = TimeAmount(parsing: text), zeroAllowed || time > .zero else {
                throw ScenarioError(
                    "\(what) is '\(text)', not a time with a unit: 500ms, 10s, 2m", at: template.origin)
            }
            return time
        }

        public enum Action: Sendable {
            /// An effect on a proxied link, from the fault's start to its end.
            case proxy(link: String, effect: Fault)
            /// A command run at the start, and one run at the end; each must exit 0 within `timeout`.
            case command(start: ScenarioTemplate, end: ScenarioTemplate?, timeout: TimeAmount)
            /// A signal at the start; STOP is followed by CONT at the end.
            case signal(Int32, name: String, target: SignalTarget)
            /// An owned process stopped (KILL when `kill`, else TERM then KILL) at the start and started again;
            /// the fault ends when it is ready.
            case restart(process: String, kill: Bool)
        }

        /// When it begins, in words: `at 3s`, `after 40 answers`.
        public var startText: String {
            switch start {
            case .at(let time): "at \(time.text)"
            case .afterAnswers(let count): "after \(count.text) answers"
            }
        }

        /// How long it lasts, in words: `for 2s`, or `until ready` for a restart.
        public var lengthText: String { length.map { "for \($0.text)" } ?? "until ready" }

        /// The kind as the file writes it.
        public var kind: String {
            switch action {
            case .proxy: "proxy"
            case .command: "command"
            case .signal: "signal"
            case .restart: "restart"
            }
        }
    }

    /// The process a signal goes to.
    public enum SignalTarget: Sendable {
        /// A process of the scenario's `processes`.
        case process(String)
        case pid(Int32)
        /// A file that holds the PID, read when the signal is sent.
        case pidFile(ScenarioTemplate)
    }

    /// The signals a fault may send, by the names `kill -l` gives them.
    static let signals: [String: Int32] = [
        "STOP": SIGSTOP, "CONT": SIGCONT, "TERM": SIGTERM, "KILL": SIGKILL, "INT": SIGINT, "HUP": SIGHUP,
        "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2,
    ]
}
