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
        /// The user's values when it stopped: each name holds the last value it took. A loop keeps no more than
        /// that, so a long phase's memory does not grow with its requests.
        let values: UserValues
        let error: ScenarioError?
    }

    /// A phase's tasks, prepared once for all its users.
    final class Plan: Sendable {
        /// One step of a task: its request, and whether it can be built once per user and sent again as is.
        struct Step: Sendable {
            let request: ScenarioFile.Request
            let isFixed: Bool
        }

        let tasks: [[Step]]
        let thinks: [TimeAmount]
        let draw: TaskDraw
        let userHeaders: [ScenarioFile.Header]
        /// Every step of every task: a pass over this many that sends nothing means the user has nothing to send.
        let stepCount: Int

        init(_ phase: ScenarioFile.Phase, userHeaders: [ScenarioFile.Header], think: TimeAmount) {
            // Names that change while the phase runs: the loop's iteration, and whatever its requests capture.
            let changing = phase.namesSet.union(["iteration"])
            tasks = phase.tasks.map { task in
                task.steps.map { Step(request: $0, isFixed: $0.isFixed(userHeaders: userHeaders, changing: changing)) }
            }
            thinks = phase.tasks.map { $0.think > .zero ? $0.think : think }
            draw = TaskDraw(phase.tasks)
            self.userHeaders = userHeaders
            stepCount = tasks.map(\.count).reduce(0, +)
        }
    }

    private let user: Int
    private var values: UserValues
    private let globals: [String: ScenarioValue]
    private let plan: Plan
    /// Per task and step: the request built once, when it can be.
    private var built: [[LoadRequest?]]
    private var error: ScenarioError?
    private var iteration = 0
    private var task = 0
    private var step = 0
    private var inFlight: Plan.Step?

    init(user: Int, values: UserValues, globals: [String: ScenarioValue], plan: Plan) {
        self.user = user
        self.values = values
        self.globals = globals
        self.plan = plan
        built = plan.tasks.map { Array(repeating: nil, count: $0.count) }
        startTask()
    }

    func nextRequest() -> (request: LoadRequest, keepBody: Bool)? {
        guard error == nil else { return nil }
        // A whole pass over every task that sends nothing means this user has nothing to send.
        var skipped = 0
        while skipped <= plan.stepCount {
            let current = plan.tasks[task][step]
            if let cached = built[task][step] {
                inFlight = current
                return (cached, current.request.needsBody)
            }
            do {
                let scope = UserScope(user: values, globals: globals, iteration: iteration)
                if let when = current.request.when, !(try when.isTrue(in: scope)) {
                    skipped += 1
                    advance()
                    continue
                }
                inFlight = current
                let rendered = try current.request.render(
                    in: scope, userHeaders: plan.userHeaders, isSentOnce: !current.isFixed)
                if current.isFixed { built[task][step] = rendered }
                return (rendered, current.request.needsBody)
            } catch {
                self.error = error
                return nil
            }
        }
        return nil
    }

    func received(_ result: Result<LoadResponse, LoadError>) -> TimeAmount {
        guard let step = inFlight else { return .zero }
        inFlight = nil
        guard case .success(let response) = result else { return endTask() }
        do {
            // Found first, written after: the scope holds the values, and writing to them while it lives would
            // copy them.
            let found = try step.request.values(
                from: response, in: UserScope(user: values, globals: globals, iteration: iteration),
                label: "'\(step.request.name.text)'")
            for (name, value) in found { values[name] = value }
        } catch {
            self.error = error
            return .zero
        }
        guard (200...299).contains(response.status) else { return endTask() }
        return advance()
    }

    func finish() -> Summary {
        Summary(user: user, values: values, error: error)
    }

    /// Moves to the next step, or ends the task after its last one; returns the think time.
    @discardableResult
    private func advance() -> TimeAmount {
        step += 1
        return step < plan.tasks[task].count ? .zero : endTask()
    }

    private func endTask() -> TimeAmount {
        let think = plan.thinks[task]
        iteration += 1
        startTask()
        return think
    }

    private func startTask() {
        step = 0
        task = plan.draw.next()
    }
}

/// How the looping executors choose a phase's task: at random, in proportion to the tasks' weights.
struct TaskDraw: Sendable {
    /// The running sums of the weights.
    private let weightSums: [Int]

    init(_ tasks: [ScenarioFile.Task]) {
        var total = 0
        weightSums = tasks.map {
            total += $0.weight
            return total
        }
    }

    /// The index of the next task.
    func next() -> Int {
        guard weightSums.count > 1, let total = weightSums.last else { return 0 }
        let draw = Int.random(in: 0..<total)
        return weightSums.firstIndex { draw < $0 } ?? 0
    }
}

extension ScenarioFile.Request {
    /// Whether the request, carrying `userHeaders`, can be built once per user and sent again as is: it has no
    /// `when`, and none of its templates reads a name in `changing` or calls `random()` or `uuid()`.
    func isFixed(userHeaders: [ScenarioFile.Header], changing: Set<String>) -> Bool {
        let templates = [name, path] + headers.map(\.value) + userHeaders.map(\.value) + (payload?.templates ?? [])
        let expressions = templates.flatMap(\.expressions) + (publishesFromAnswer ? [] : [publishes].compactMap { $0 })
        return when == nil && !expressions.contains { $0.isVolatile(changing: changing) }
    }
}
