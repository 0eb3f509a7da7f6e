import NIOCore
import TurnstileReport

/// What a scenario's looping user does in a closed phase: picks a task by weight, sends its steps one after
/// another with the values captured along the way, thinks, and starts over. Confined to its user's event loop.
///
/// A step whose `when` is false is skipped; an answer outside 2xx, or no answer, ends the task there (the steps
/// after it would act on what it did not give). A request whose templates read nothing that changes during the
/// phase is built once per user and sent again as is, so templating costs nothing per request on the hot path.
final class ScenarioUserScript: UserScript {
    struct Summary: Sendable {
        let user: Int
        let values: UserValues
        /// Every value captured or computed during the phase, in order, by name.
        let history: [String: [ScenarioValue]]
        let error: ScenarioError?
    }

    private let user: Int
    private var values: UserValues
    private let globals: [String: ScenarioValue]
    private let tasks: [ScenarioFile.Task]
    private let weights: [Int]
    private let userHeaders: [ScenarioFile.Header]
    private let phaseThink: TimeAmount
    /// Per task and step: the request built once, when it can be.
    private var built: [[LoadRequest?]]
    private let fixed: [[Bool]]
    private var history: [String: [ScenarioValue]] = [:]
    private var error: ScenarioError?
    private var iteration = 0
    private var task = 0
    private var step = 0
    private var inFlight: ScenarioFile.Request?

    init(
        user: Int, values: UserValues, globals: [String: ScenarioValue], phase: ScenarioFile.Phase,
        userHeaders: [ScenarioFile.Header], think: TimeAmount
    ) {
        self.user = user
        self.values = values
        self.globals = globals
        tasks = phase.tasks
        var total = 0
        weights = phase.tasks.map {
            total += $0.weight
            return total
        }
        self.userHeaders = userHeaders
        phaseThink = think
        // Names that change while the phase runs: the loop's iteration, and whatever its requests capture.
        var changing: Set<String> = ["iteration"]
        for request in phase.tasks.flatMap(\.steps) {
            changing.formUnion(request.captures.map(\.name))
            changing.formUnion(request.lets.map(\.name))
        }
        fixed = phase.tasks.map { task in
            task.steps.map { request in
                let templates = [request.name, request.path] + request.headers.map(\.value) + userHeaders.map(\.value)
                return request.when == nil
                    && !templates.contains { $0.expressions.contains { $0.isVolatile(changing: changing) } }
                    && !(request.body?.isVolatile(changing: changing) ?? false)
            }
        }
        built = phase.tasks.map { Array(repeating: nil, count: $0.steps.count) }
        startTask()
    }

    func nextRequest() -> (request: LoadRequest, keepBody: Bool)? {
        guard error == nil else { return nil }
        // A whole pass over every task that sends nothing means this user has nothing to send.
        var skipped = 0
        while skipped <= tasks.map(\.steps.count).reduce(0, +) {
            let request = tasks[task].steps[step]
            do {
                let scope = UserScope(user: values, globals: globals, iteration: iteration)
                if let when = request.when, !(try when.isTrue(in: scope)) {
                    skipped += 1
                    advance()
                    continue
                }
                inFlight = request
                if let cached = built[task][step] { return (cached, request.needsBody) }
                let rendered = try request.render(in: scope, userHeaders: userHeaders)
                if fixed[task][step] { built[task][step] = rendered }
                return (rendered, request.needsBody)
            } catch {
                self.error = error
                return nil
            }
        }
        return nil
    }

    func received(_ result: Result<LoadResponse, LoadError>) -> TimeAmount {
        guard let request = inFlight else { return .zero }
        inFlight = nil
        guard case .success(let response) = result else { return endTask() }
        do {
            let scope = UserScope(user: values, globals: globals, iteration: iteration)
            for (name, value) in try request.values(from: response, in: scope, label: "'\(request.name.text)'") {
                values[name] = value
                history[name, default: []].append(value)
            }
        } catch {
            self.error = error
            return .zero
        }
        guard (200...299).contains(response.status) else { return endTask() }
        return advance()
    }

    func finish() -> Summary {
        Summary(user: user, values: values, history: history, error: error)
    }

    /// Moves to the next step, or ends the task after its last one; returns the think time.
    @discardableResult
    private func advance() -> TimeAmount {
        step += 1
        return step < tasks[task].steps.count ? .zero : endTask()
    }

    private func endTask() -> TimeAmount {
        let think = tasks[task].think > .zero ? tasks[task].think : phaseThink
        iteration += 1
        startTask()
        return think
    }

    private func startTask() {
        step = 0
        guard tasks.count > 1 else {
            task = 0
            return
        }
        let draw = Int.random(in: 0..<weights[weights.count - 1])
        task = weights.firstIndex { draw < $0 } ?? 0
    }
}

extension ScenarioFile.Body {
    /// Whether any template in it is volatile (see ``ScenarioExpression/isVolatile(changing:)``).
    func isVolatile(changing: Set<String>) -> Bool {
        switch self {
        case .value: false
        case .template(let template): template.expressions.contains { $0.isVolatile(changing: changing) }
        case .list(let items): items.contains { $0.isVolatile(changing: changing) }
        case .object(let fields): fields.contains { $0.1.isVolatile(changing: changing) }
        }
    }
}
