import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// Sends bad inputs one at a time, each on a connection of its own (a hang holds only its own), and judges each.
struct BadInputRun {
    /// How long one bad input may go unanswered before it counts as a hang, unless the file says.
    static let timeoutDefault = TimeAmount.seconds(5)

    let context: SuiteContext
    let timeout: TimeAmount
    /// A path asked after every input: a target that no longer answers it (or answers 5xx) has crashed.
    let probe: String?

    /// Sends `cases` in order, stopping after a crash; the phase's statistics (one endpoint per request, 4xx
    /// expected) and each case's verdict.
    func send(
        _ cases: [(request: String, BadInputs.Case)], phase: String
    ) async -> (PhaseReport, [BadInputCase]) {
        let startedAt = Date()
        let began = NIODeadline.now()
        var stats: [String: EndpointStats] = [:]
        var results: [BadInputCase] = []
        let timeouts = HTTPClientConnection.Timeouts(
            connect: context.timeouts.connect, read: timeout, response: timeout)
        for (request, made) in cases {
            let sent = NIODeadline.now()
            let result = await exchange(made.make(), timeouts: timeouts)
            let microseconds = UInt64(max(0, (NIODeadline.now() - sent).nanoseconds / 1_000))
            // Counted apart from the request's own statistics, which its outcomes and invariants read.
            let name = "\(request) (bad input)"
            var endpoint = stats[name] ?? EndpointStats(name: name, expected: .clientError)
            var verdict: BadInputCase.Verdict
            var status: Int?
            var detail: String
            switch result {
            case .success(let answer):
                endpoint.record(status: answer.status, microseconds: microseconds)
                status = answer.status
                detail = Format.printable(ScenarioFile.Request.snippet(answer.body.readableBytesView))
                verdict =
                    switch answer.status {
                    case 400...499: .refused
                    case 500...: .serverError
                    default: .accepted
                    }
            case .failure(let error):
                endpoint.record(error: error.kind)
                detail = error.description
                verdict =
                    switch error.kind {
                    case .timeout: .hang
                    case .connect: .crash
                    case _ where error.isAnsweredEarly: .answeredEarly
                    default: .closed
                    }
            }
            if verdict != .crash, let probe, let failure = await probeFails(probe, timeouts: timeouts) {
                verdict = .crash
                detail = "then \(probe) \(failure); " + detail
            }
            stats[name] = endpoint
            results.append(
                BadInputCase(
                    phase: phase, request: request, input: made.input, verdict: verdict, status: status,
                    detail: detail))
            if verdict == .crash { break }
        }
        var report = PhaseReport(
            name: phase, executor: "bad_input", startedAt: startedAt,
            durationSeconds: Double((NIODeadline.now() - began).nanoseconds) / 1e9, users: 1,
            endpoints: stats.values.sorted { $0.name < $1.name }, timeline: [])
        let tally = Dictionary(grouping: results, by: \.verdict).mapValues(\.count)
        report.facts.append(
            "\(results.count) bad inputs: "
                + [BadInputCase.Verdict.refused, .accepted, .answeredEarly, .serverError, .hang, .closed, .crash].map {
                    "\($0.rawValue) \(tally[$0] ?? 0)"
                }.joined(separator: ", "))
        return (report, results)
    }

    /// The OpenAPI document at `path` on the target, read.
    func openAPI(at path: String) async throws(ScenarioError) -> OpenAPIBadInputs {
        let request = LoadRequest(endpoint: "openapi", method: .GET, path: path, isSentOnce: true)
        let timeouts = HTTPClientConnection.Timeouts(
            connect: context.timeouts.connect, read: timeout, response: max(timeout, .seconds(30)))
        switch await exchange(request, timeouts: timeouts) {
        case .success(let answer) where (200..<300).contains(answer.status):
            return try OpenAPIBadInputs(bytes: answer.body.readableBytesView, name: path)
        case .success(let answer):
            throw ScenarioError("the OpenAPI document \(path) could not be read: the target answered \(answer.status)")
        case .failure(let error):
            throw ScenarioError("the OpenAPI document \(path) could not be read: \(error)")
        }
    }

    /// One request on a connection of its own, closed after.
    private func exchange(
        _ request: LoadRequest, timeouts: HTTPClientConnection.Timeouts
    ) async -> Result<LoadResponse, LoadError> {
        let eventLoop = context.group.next()
        let connection: HTTPClientConnection
        do {
            connection = try await HTTPClientConnection.connect(to: context.target, on: eventLoop, timeouts: timeouts)
                .get()
        } catch {
            return .failure(ResponseHandler.classify(error))
        }
        defer { connection.close() }
        do {
            let answer = try await eventLoop.flatSubmit {
                connection.send(request, timeouts: timeouts, keepBody: true)
            }.get()
            return .success(answer)
        } catch {
            return .failure(ResponseHandler.classify(error))
        }
    }

    /// Why the probe failed, or nil when it answered below 500.
    private func probeFails(_ path: String, timeouts: HTTPClientConnection.Timeouts) async -> String? {
        let request = LoadRequest(endpoint: "probe", method: .GET, path: path, isSentOnce: true)
        switch await exchange(request, timeouts: timeouts) {
        case .success(let answer) where answer.status < 500: return nil
        case .success(let answer): return "answered \(answer.status)"
        case .failure(let error): return "got no answer (\(error))"
        }
    }
}
