import Foundation
import NIOCore
import TurnstileReport

/// Prints a live progress line once per second while a phase runs: elapsed time, users, requests and p95 of the last
/// complete second, and the failure rate so far. On a terminal the line rewrites itself; into
/// a file or a pipe it prints one plain line per second. Written to standard error, so standard output stays the
/// report. With a ``RunMonitor`` it also tells the monitor when each phase begins and ends, for the dashboard.
public struct ProgressReporter: Sendable {
    private let isTerminal: Bool
    private let monitor: RunMonitor?
    private let resources: ResourceWatcher?

    public init(
        isTerminal: Bool = isatty(STDERR_FILENO) != 0, monitor: RunMonitor? = nil, resources: ResourceWatcher? = nil
    ) {
        self.isTerminal = isTerminal
        self.monitor = monitor
        self.resources = resources
    }

    /// The target is process `pid`, which the suite started (a child `turnstile serve`): its resources are watched
    /// from now on, unless the user chose a process to watch.
    public func targetStarted(_ pid: Int32, describe: String) {
        resources?.follow(pid, describe: describe)
    }

    /// A process a scenario started and asked to watch (`watch: true`) is running as `pid`: its resources are sampled
    /// beside the target's, under its name; a restart's new process replaces it.
    public func processStarted(_ pid: Int32, name: String) {
        resources?.watch(pid, key: "process \(name)", describe: "process '\(name)'")
    }

    /// Prints one line (for set-up steps such as provisioning); nothing in it (a scenario's names) steers the
    /// terminal.
    public func note(_ line: String) {
        write(Format.printable(line) + "\n")
    }

    /// Notes `line()` once a second, for set-up work of unknown length, until the returned task is cancelled.
    func noteEverySecond(_ line: @escaping @Sendable () -> String) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                note(line())
            }
        }
    }

    /// A phase ended with `report` (whether or not it was started with ``start(_:executor:users:recorders:)``).
    func finished(_ report: PhaseReport) {
        monitor?.ended(report)
    }

    /// Prints a progress line for `phase` once a second; `driver` names what `users` counts (`users`, or
    /// `connections` for the url suite).
    func start(_ phase: String, executor: String, users: Int, recorders: RecorderSet) -> Task<Void, Never> {
        monitor?.began(phase, executor: executor, users: users, recorders: recorders)
        let driver = ConsoleRenderer.drivers(of: phase)
        // Made safe for the terminal once, not on every line.
        let shown = Format.printable(phase)
        return Task {
            var elapsed = 0
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { break }
                elapsed += 1
                let snapshot = await recorders.snapshot()
                let total = EndpointStats.overall(snapshot.endpoints)
                // The second under way has only just begun: show the last complete one.
                let current = Int((NIODeadline.now() - recorders.phaseStart).nanoseconds / 1_000_000_000)
                let last = snapshot.seconds.first { $0.second == current - 1 }
                let p95 = last.flatMap { $0.latency.isEmpty ? nil : Format.microseconds($0.latency.percentile(95)) }
                let line =
                    "\(shown) [\(elapsed)s] \(users) \(driver) | \(last?.requests ?? 0) req/s | p95 \(p95 ?? "—") | "
                    + "failed \(Format.percent(total.failureRatio * 100))"
                write(isTerminal ? "\r\u{1B}[2K" + line : line + "\n")
            }
            if isTerminal { write("\r\u{1B}[2K") }
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
