import Foundation
import Synchronization
import TurnstileReport

/// What a run has measured so far, for a live view such as the dashboard: the phases that ended, the one under way
/// (read from its recorders when asked), and at the end the final report.
///
/// The executors tell it about phases through their ``ProgressReporter``; it never slows them down: a phase under
/// way is read only when someone looks.
public final class RunMonitor: Sendable {
    private enum Phase {
        case running(name: String, executor: String, users: Int, startedAt: Date, recorders: RecorderSet)
        case ended(PhaseReport)
    }

    private struct State {
        var phases: [Phase] = []
        var final: RunReport?
    }

    private let base: RunReport
    private let resources: ResourceWatcher?
    private let state = Mutex(State())

    /// A monitor for a run of `suite` against `target`, starting now, with the target's `resources` if watched.
    public init(suite: String, target: String, resources: ResourceWatcher? = nil) {
        base = RunReport(suite: suite, target: target)
        self.resources = resources
    }

    /// The run as it stands: the final report once there is one.
    public func snapshot() async -> (report: RunReport, isFinal: Bool) {
        let (phases, final) = state.withLock { ($0.phases, $0.final) }
        if let final { return (final, true) }
        var report = base
        report.resources = resources.map(\.timeline).flatMap { $0.samples.isEmpty ? nil : $0 }
        for phase in phases {
            switch phase {
            case .ended(let phase):
                report.phases.append(phase)
            case .running(let name, let executor, let users, let startedAt, let recorders):
                report.phases.append(
                    await recorders.phaseReport(name, executor: executor, startedAt: startedAt, users: users))
            }
        }
        return (report, false)
    }

    /// Seconds since the run started.
    public var elapsedSeconds: Double { Date().timeIntervalSince(base.startedAt) }

    /// The run is over: from now on the monitor shows `report`.
    public func finish(_ report: RunReport) {
        state.withLock { $0.final = report }
    }

    func began(_ name: String, executor: String, users: Int, recorders: RecorderSet) {
        state.withLock {
            $0.phases.append(
                .running(name: name, executor: executor, users: users, startedAt: Date(), recorders: recorders))
        }
    }

    /// `phase` ended: it replaces the running phase of its name, if there is one.
    func ended(_ phase: PhaseReport) {
        state.withLock { state in
            let running = state.phases.lastIndex { entry in
                if case .running(let name, _, _, _, _) = entry { return name == phase.name }
                return false
            }
            if let running { state.phases[running] = .ended(phase) } else { state.phases.append(.ended(phase)) }
        }
    }
}
