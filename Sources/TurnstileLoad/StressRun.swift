import Foundation
import TurnstileReport

/// Carries out one run of a suite: whatever the suite throws (an unreachable target, a refused set-up call) becomes
/// the report's `failure` (exit 3), and the thresholds are judged on what it measured.
public enum StressRun {
    public static func execute(
        suite: String, target: LoadTarget, thresholds: [Threshold],
        _ body: (inout RunReport) async throws -> Void
    ) async -> RunReport {
        var report = RunReport(suite: suite, target: target.description)
        do {
            try await body(&report)
        } catch {
            report.failure = String(describing: error)
        }
        report.thresholds = ThresholdSet.judge(thresholds, on: report)
        return report
    }
}
