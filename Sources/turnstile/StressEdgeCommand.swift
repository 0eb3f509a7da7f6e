import ArgumentParser
import TurnstileLoad

/// `turnstile stress edge`: the catalogue of bad inputs.
struct StressEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge",
        abstract: "Send a catalogue of bad inputs to every endpoint; each must get its 4xx, never a 5xx or a hang.",
        discussion: """
            First the bundled scenarios/edge.yaml: every ordinary request of the API, sent once as it should be, \
            then made wrong in every way a bad-input phase generates (docs/scenarios.md, "Bad inputs"). Then the \
            catalogue of what no scenario file can send or check, \(EdgeCatalogue.cases.count) cases: malformed and empty JSON, wrong types, integer overflow, floats for \
            integers, nulls, arrays for objects, dates in the wrong format, unicode edge cases, SQL-injection and \
            path-traversal strings, bad and missing tokens, other users' things, wrong content types, a huge body, \
            an oversized header, and a body that never finishes (the server must give up on it by itself, so the \
            suite takes as long as the target's body deadline: 5 s on Turnstile, which answers 408; elsewhere often \
            the idle timeout). Each case is listed with its expected and actual \
            answer; any 5xx, hang or reset fails the run, and the target must answer /health afterwards.

            Examples:
              turnstile stress edge
              turnstile stress edge --target http://127.0.0.1:8080 --json edge.json
            """
    )

    @OptionGroup var options: StressOptions

    func run() async throws {
        let (edge, overrides) = try ScenarioOptions.bundled(.edge, [:])
        try await CommandRun(options.run).suite("edge", target: try options.loadTarget) { context, report in
            let pool = ScenarioUserPool()
            try await ScenarioRunner(edge, context: context, overrides: overrides, pool: pool).run(into: &report)
            try await EdgeSuite(context).run(pool: pool, into: &report)
        }
    }
}
