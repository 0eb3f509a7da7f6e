import Foundation
import NIOCore
import NIOPosix
import TurnstileReport

/// Carries out one run of a suite: whatever the suite throws (an unreachable target, a refused set-up call) becomes
/// the report's `failure` (exit 3), and the thresholds are judged on what it measured.
public enum StressRun {
    /// Runs `body` as suite `suite` against `target` and judges `thresholds` on what it measured.
    ///
    /// - Parameter endpoints: the endpoint names the suite can produce, when known: a threshold naming any other is
    ///   refused before anything is sent (a typo must not cost a run, nor pass silently).
    /// - Parameter runID: the run's id; shards of one run share it.
    public static func execute(
        suite: String, target: LoadTarget, thresholds: [Threshold], endpoints: [String]? = nil,
        runID: String = RunReport.newRunID(), _ body: (inout RunReport) async throws -> Void
    ) async -> RunReport {
        var report = RunReport(suite: suite, target: target.description, runID: runID)
        if let endpoints,
            let unknown = thresholds.first(where: { $0.endpoint.map { !endpoints.contains($0) } ?? false })
        {
            report.failure =
                "threshold '\(unknown)' names no endpoint of \(suite); its endpoints are "
                + endpoints.map { "'\($0)'" }.joined(separator: ", ")
            return report
        }
        do {
            try await checkTLS(target)
            try await body(&report)
        } catch {
            report.failure = describe(error, target: target)
        }
        if report.failure == nil, let unmeasured = report.unmeasuredReason(target: target.description) {
            report.failure = unmeasured
        }
        // Connections the target reset say something about the target that a count does not: say what to try. Not
        // where the run itself broke connections (a fault: the service killed, a link cut), which its fault windows
        // report.
        let resets = report.phases.reduce(0) {
            $0 + ($1.overall.errorCounts[EndpointStats.ErrorKind.reset.rawValue] ?? 0)
        }
        if resets > 0, report.faults.isEmpty {
            report.notes.append(
                "\(resets) connection\(resets == 1 ? " was" : "s were") reset or closed by the target without an answer: "
                    + "it may cap connections per source address (Turnstile: 1,024) or be overloaded"
                    + (target.sources == nil
                        ? "; --local-ips spreads the engine's connections over several addresses" : ""))
        }
        report.thresholds = ThresholdSet.judge(thresholds, on: report)
        return report
    }

    /// For an https target, one handshake before anything else: a certificate the engine does not trust ends the
    /// run at once with BoringSSL's reason, rather than as a phase of failed handshakes. A target that does not
    /// answer is left for the suite to find, in its own words.
    static func checkTLS(_ target: LoadTarget) async throws {
        guard target.tls != nil else { return }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        do {
            let connection = try await HTTPClientConnection.connect(to: target, on: eventLoop).get()
            connection.close()
        } catch let error as LoadError where error.kind == .tls {
            throw error
        } catch {}
    }

    /// One line saying why the run stopped, with a hint where there is one.
    public static func describe(_ error: any Error, target: LoadTarget) -> String {
        if let error = error as? IOError { return describeSystemError(error) }
        if let error = error as? LoadError, error.kind == .connect {
            return RunReport.unreachable(target.description, error.detail)
        }
        if let error = error as? LoadError, error.kind == .tls {
            return RunReport.tlsFailed(target.description, error.detail)
        }
        return String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
