import Foundation
import NIOCore
import TurnstileReport

/// The results gathered on one event loop. Only that loop touches it, so recording takes no lock; counters are
/// arrays indexed by status code and by second, so recording allocates nothing.
final class Recorder {
    /// One endpoint's counters while the phase runs.
    private struct Accumulator {
        let expected: StatusSet
        var statuses = [UInt64](repeating: 0, count: LoadLimits.statusCodesCounted)
        var errors = [UInt64](repeating: 0, count: EndpointStats.ErrorKind.allCases.count)
        var latency = LatencyHistogram()
        var outcomes: [String: UInt64] = [:]

        init(expected: StatusSet) {
            self.expected = expected
        }

        func stats(name: String) -> EndpointStats {
            var stats = EndpointStats(name: name, expected: expected)
            for (status, count) in statuses.enumerated() where count > 0 { stats.statusCounts[String(status)] = count }
            stats.unexpectedResponses = stats.unexpectedInStatusCounts
            for (index, kind) in EndpointStats.ErrorKind.allCases.enumerated() where errors[index] > 0 {
                stats.errorCounts[kind.rawValue] = errors[index]
            }
            stats.latency = latency
            stats.outcomeCounts = outcomes
            return stats
        }
    }

    private let phaseStart: NIODeadline
    private var endpoints: [String: Accumulator] = [:]
    private var connectLatency = LatencyHistogram(precision: .coarse)
    private var tlsLatency = LatencyHistogram(precision: .coarse)
    private var httpVersions: [String: UInt64] = [:]
    private var seconds: [PhaseReport.Second] = []
    /// Seconds before this one are over: their totals are added up and their histograms packed.
    private var closedSeconds = 0
    /// The run's fault timeline, when it has one: requests are then also counted by the segment they were sent in.
    private let marks: FaultMarks?
    private var segments = FaultSegments()
    /// The run's live-feed events, when it has subscribers: publishing requests are recorded there too.
    private let ledger: FeedLedger?

    init(phaseStart: NIODeadline, marks: FaultMarks? = nil, ledger: FeedLedger? = nil) {
        self.phaseStart = phaseStart
        self.marks = marks
        self.ledger = ledger
    }

    /// Records one request that started (or was meant to start) at `start` and ended at `end`: a response with a
    /// status `request` did not expect is a failure.
    func record(
        _ request: LoadRequest, start: NIODeadline, end: NIODeadline, result: Result<LoadResponse, LoadError>
    ) {
        let microseconds = UInt64(max(0, (end - start).nanoseconds / 1_000))
        let secondIndex = Int(max(0, (end - phaseStart).nanoseconds / 1_000_000_000))
        if seconds.count <= secondIndex { openSeconds(through: secondIndex) }
        // Only requests whose outcomes read bodies are classified here; the others' are counted from statuses.
        var outcome: String?
        switch result {
        case .success(let response):
            let status = min(max(response.status, 0), LoadLimits.statusCodesCounted - 1)
            endpoints[request.endpoint, default: Accumulator(expected: request.expected)].statuses[status] += 1
            endpoints[request.endpoint]!.latency.record(microseconds: microseconds)
            if let outcomes = request.outcomes {
                outcome = outcomes.classify(response)
                if let outcome { endpoints[request.endpoint]!.outcomes[outcome, default: 0] += 1 }
            }
        case .failure(let error):
            let index = EndpointStats.ErrorKind.allCases.firstIndex(of: error.kind)!
            endpoints[request.endpoint, default: Accumulator(expected: request.expected)].errors[index] += 1
        }
        Self.count(
            result, microseconds: microseconds, expected: request.expected,
            into: &seconds[secondIndex].endpoints[request.endpoint, default: .init()])
        if let publication = request.publishes, let ledger {
            ledger.record(publication, of: request, result: result, sentAt: start, answeredAt: end)
        }
        if let marks {
            segments.record(
                request, span: marks.answered(sentAt: start, endedAt: end), start: start, end: end,
                microseconds: microseconds, result: result, outcome: outcome)
        }
    }

    /// Counts one request into its endpoint's second.
    private static func count(
        _ result: Result<LoadResponse, LoadError>, microseconds: UInt64, expected: StatusSet,
        into counts: inout PhaseReport.Second.Counts
    ) {
        switch result {
        case .success(let response):
            let status = min(max(response.status, 0), LoadLimits.statusCodesCounted - 1)
            counts.record(status: statusNames[status], microseconds: microseconds, expected: expected.contains(status))
        case .failure(let error):
            counts.record(error: error.kind)
        }
    }

    /// Records how long `connection` took to open (TCP, and TLS on https).
    func recordSetup(of connection: HTTPClientConnection) {
        connection.recordSetup(connect: &connectLatency, tls: &tlsLatency, versions: &httpVersions)
    }

    /// Status codes as the timeline's keys, made once.
    private static let statusNames = (0..<LoadLimits.statusCodesCounted).map { String($0) }

    /// Adds seconds up to `index`, and closes those more than a second before it: answers end in order of time on
    /// this loop, so nothing more is recorded into them. A closed second gets its totals, once, and keeps only its
    /// histograms' non-empty buckets.
    private func openSeconds(through index: Int) {
        while seconds.count <= index { seconds.append(PhaseReport.Second(second: seconds.count)) }
        while closedSeconds < index - 1 {
            seconds[closedSeconds].addUpEndpoints()
            seconds[closedSeconds].pack()
            closedSeconds += 1
        }
    }

    var snapshot: RecorderSnapshot {
        // Every second from the start, quiet ones too: a stall shows as zeros, not as a gap. The totals are the sum of
        // the endpoints', added when a second closes rather than on every request; the open ones' are added here.
        var seconds = seconds
        for index in closedSeconds..<seconds.count { seconds[index].addUpEndpoints() }
        return RecorderSnapshot(
            endpoints: endpoints.map { $0.value.stats(name: $0.key) }, seconds: seconds,
            connectLatency: connectLatency.isEmpty ? nil : connectLatency,
            tlsLatency: tlsLatency.isEmpty ? nil : tlsLatency, httpVersions: httpVersions, segments: segments)
    }
}

/// A copy of recorded results, safe to carry off the event loop and add to others.
struct RecorderSnapshot: Sendable {
    var endpoints: [EndpointStats] = []
    var seconds: [PhaseReport.Second] = []
    var connectLatency: LatencyHistogram?
    var tlsLatency: LatencyHistogram?
    var httpVersions: [String: UInt64] = [:]
    var segments = FaultSegments()

    mutating func add(_ other: RecorderSnapshot) {
        segments.add(other.segments)
        httpVersions.merge(other.httpVersions, uniquingKeysWith: +)
        endpoints = EndpointStats.merged(endpoints, other.endpoints)
        seconds = PhaseReport.Second.merged(seconds, other.seconds)
        connectLatency = PhaseReport.sum(connectLatency, other.connectLatency)
        tlsLatency = PhaseReport.sum(tlsLatency, other.tlsLatency)
    }
}

/// One recorder per event loop of a group, and the means to read them all together.
final class RecorderSet: Sendable {
    private let recorders: [ObjectIdentifier: NIOLoopBoundBox<Recorder>]
    let phaseStart: NIODeadline
    /// The run's fault timeline, which is handed the segments when the phase's report is made.
    private let marks: FaultMarks?

    init(
        group: any EventLoopGroup, phaseStart: NIODeadline = .now(), marks: FaultMarks? = FaultMarks.current,
        ledger: FeedLedger? = FeedLedger.current
    ) {
        self.phaseStart = phaseStart
        self.marks = marks
        var recorders: [ObjectIdentifier: NIOLoopBoundBox<Recorder>] = [:]
        for eventLoop in group.makeIterator() {
            // Made off the loop and handed over whole: from here on only `eventLoop` touches it.
            recorders[ObjectIdentifier(eventLoop)] = .makeBoxSendingValue(
                Recorder(phaseStart: phaseStart, marks: marks, ledger: ledger), eventLoop: eventLoop)
        }
        self.recorders = recorders
    }

    /// The recorder of `eventLoop`. On that event loop.
    func recorder(on eventLoop: any EventLoop) -> Recorder {
        guard let recorder = recorders[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("the event loop is not one of the recorder set's group")
        }
        return recorder.value
    }

    /// The phase's report from everything recorded: its length runs from the recorders' start to now.
    func phaseReport(
        _ name: String, executor: String, startedAt: Date, users: Int, lateStarts: UInt64? = nil,
        droppedStarts: UInt64? = nil
    ) async -> PhaseReport {
        let snapshot = await finalSnapshot()
        var report = PhaseReport(
            name: name, executor: executor, startedAt: startedAt,
            durationSeconds: Double((NIODeadline.now() - phaseStart).nanoseconds) / 1e9, users: users,
            endpoints: snapshot.endpoints, timeline: snapshot.seconds, lateStarts: lateStarts,
            droppedStarts: droppedStarts)
        report.connectLatency = snapshot.connectLatency
        report.tlsLatency = snapshot.tlsLatency
        report.httpVersions = snapshot.httpVersions
        return report
    }

    /// Everything recorded, once the phase is over: the run's fault timeline is handed its segments.
    func finalSnapshot() async -> RecorderSnapshot {
        let snapshot = await snapshot()
        marks?.collect(snapshot.segments, phaseStart: phaseStart)
        return snapshot
    }

    /// Everything recorded so far, read on each loop and added up.
    func snapshot() async -> RecorderSnapshot {
        var total = RecorderSnapshot()
        for bound in recorders.values {
            let part = try? await bound.eventLoop.submit { bound.value.snapshot }.get()
            if let part { total.add(part) }
        }
        return total
    }
}
