import TurnstileLoad
import TurnstileReport

/// Runs bundled scenarios one after another as one run of `suite`, sharing their users, as the commands do.
public func runBundled(
    _ scenarios: [(BundledScenario, [String: ScenarioValue])], target: LoadTarget, suite: String = "scenarios",
    thresholds: [Threshold] = []
) async -> RunReport {
    let pool = ScenarioUserPool()
    return await StressRun.execute(suite: suite, target: target, thresholds: thresholds) { report in
        for (scenario, overrides) in scenarios {
            try await ScenarioRunner(
                try scenario.load(), context: SuiteContext(target: target), overrides: overrides, pool: pool
            ).run(into: &report)
        }
    }
}
