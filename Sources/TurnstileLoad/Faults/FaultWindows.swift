import NIOCore
import TurnstileReport

/// Turns what a phase's recorders counted by segment into a fault's report: its before, during and after windows,
/// the first success after it, and when the target recovered.
///
/// A request is in the during-window if it met the fault at all: it was sent before the fault ended and ended after
/// it began (so one in flight when the fault began is there, not in the before-window). The before-window holds the
/// requests sent and ended between the previous instant of the timeline (or the phase's start) and the fault's
/// start; the after-window those sent between the fault's end and the next instant (or the phase's end).
struct FaultWindows {
    let marks: FaultMarks
    let segments: FaultSegments
    let phaseStart: NIODeadline
    let phaseEnd: NIODeadline

    func report(
        for fault: ScenarioFile.FaultStep, outcome: PhaseFaults.Outcome, phase: String, action: String
    ) -> FaultReport {
        var report = FaultReport(
            name: fault.name, kind: fault.kind, action: action, phase: phase, began: nil, ended: nil, windows: [],
            firstSuccessSeconds: nil, recoverySeconds: nil, log: outcome.log)
        guard let began = outcome.began, let beganAt = marks.instant(began) else { return report }
        report.began = offset(beganAt)
        let beforeFrom = max(marks.instant(began - 1) ?? phaseStart, phaseStart)
        let before = window(
            "before", from: beforeFrom, to: beganAt, sentIn: { $0 == began - 1 },
            { $0.sent == began - 1 && $0.ended == began - 1 })
        report.windows.append(before)
        guard let ended = outcome.ended, let endedAt = marks.instant(ended) else { return report }
        report.ended = offset(endedAt)
        report.windows.append(
            window("during", from: beganAt, to: endedAt, sentIn: { $0 >= began && $0 < ended }) {
                $0.sent < ended && $0.ended >= began
            })
        let afterTo = max(min(marks.instant(ended + 1) ?? phaseEnd, phaseEnd), endedAt)
        report.windows.append(window("after", from: endedAt, to: afterTo, sentIn: { $0 == ended }) { $0.sent == ended })
        report.firstSuccessSeconds = segments.firstSuccess { $0 >= ended }.values.min().map {
            Self.seconds($0 - endedAt)
        }
        report.recoverySeconds = recovery(after: endedAt, until: afterTo, in: ended, before: before.overall)
        return report
    }

    /// Seconds from `end` to the start of the first whole second from which every second of the after-window (segment
    /// `segment`, up to `limit`: the next fault's start or end, or the phase's end) that sent requests was back within
    /// ``RecoveryBound`` of `before`; nil when there is none (the window ended first).
    func recovery(
        after end: NIODeadline, until limit: NIODeadline, in segment: Int, before: FaultReport.Endpoint
    ) -> Double? {
        let first = FaultSegments.second(of: end)
        let last = FaultSegments.second(of: limit)
        guard first <= last else { return nil }
        var recoveredFrom: Int64?
        var sentSince = false
        for second in stride(from: last, through: first, by: -1) {
            let counts = segments.seconds[segment]?[second] ?? FaultReport.Endpoint(name: "all")
            guard
                RecoveryBound.holds(
                    requests: counts.requests, failures: counts.failures, latency: counts.latency, before: before)
            else { break }
            sentSince = sentSince || counts.requests > 0
            if sentSince { recoveredFrom = second }
        }
        guard let recoveredFrom else { return nil }
        return max(0, Double(recoveredFrom) - Double(end.uptimeNanoseconds) / 1e9)
    }

    /// The window from `from` to `to` over the requests whose span is `included`, each endpoint with the time from
    /// the window's start to its first expected answer among the requests sent in the segments `sentIn` holds.
    private func window(
        _ name: String, from: NIODeadline, to: NIODeadline, sentIn: (Int) -> Bool,
        _ included: (FaultSegments.Span) -> Bool
    ) -> FaultReport.Window {
        let first = segments.firstSuccess(sentIn: sentIn)
        var endpoints = segments.endpoints(where: included)
        for index in endpoints.indices {
            endpoints[index].firstSuccessSeconds = first[endpoints[index].name].map { max(0, Self.seconds($0 - from)) }
        }
        return FaultReport.Window(name: name, from: offset(from), to: offset(to), endpoints: endpoints)
    }

    private func offset(_ instant: NIODeadline) -> Double { Self.seconds(instant - phaseStart) }

    static func seconds(_ time: TimeAmount) -> Double { Double(time.nanoseconds) / 1e9 }

    /// `1.25` for a time.
    static func secondsText(_ time: TimeAmount) -> String { Format.fixed(seconds(time), digits: 2) }
}
