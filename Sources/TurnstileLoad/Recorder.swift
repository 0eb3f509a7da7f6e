import NIOCore
import TurnstileReport

/// The results gathered on one event loop. Only that loop touches it, so recording takes no lock.
final class Recorder {
    private let phaseStart: NIODeadline
    private(set) var endpoints: [String: EndpointStats] = [:]
    private(set) var seconds: [Int: PhaseReport.Second] = [:]

    init(phaseStart: NIODeadline) {
        self.phaseStart = phaseStart
    }

    /// Records one request that started (or was meant to start) at `start` and ended at `end`.
    func record(_ endpoint: String, start: NIODeadline, end: NIODeadline, result: Result<LoadResponse, LoadError>) {
        let microseconds = UInt64(max(0, (end - start).nanoseconds / 1_000))
        let secondIndex = Int(max(0, (end - phaseStart).nanoseconds / 1_000_000_000))
        var second = seconds[secondIndex] ?? PhaseReport.Second(second: secondIndex)
        second.requests += 1
        switch result {
        case .success(let response):
            endpoints[endpoint, default: EndpointStats(name: endpoint)].record(
                status: response.status, microseconds: microseconds)
            second.latency.record(microseconds: microseconds)
            if response.status >= 500 { second.failures += 1 }
        case .failure(let error):
            endpoints[endpoint, default: EndpointStats(name: endpoint)].record(error: error.kind)
            second.failures += 1
        }
        seconds[secondIndex] = second
    }

    var snapshot: RecorderSnapshot {
        RecorderSnapshot(endpoints: Array(endpoints.values), seconds: Array(seconds.values))
    }
}

/// A copy of recorded results, safe to carry off the event loop and add to others.
struct RecorderSnapshot: Sendable {
    var endpoints: [EndpointStats] = []
    var seconds: [PhaseReport.Second] = []

    mutating func add(_ other: RecorderSnapshot) {
        var byName = Dictionary(uniqueKeysWithValues: endpoints.map { ($0.name, $0) })
        for stats in other.endpoints { byName[stats.name, default: EndpointStats(name: stats.name)].add(stats) }
        endpoints = Array(byName.values)
        var bySecond = Dictionary(uniqueKeysWithValues: seconds.map { ($0.second, $0) })
        for second in other.seconds { bySecond[second.second, default: .init(second: second.second)].add(second) }
        seconds = Array(bySecond.values)
    }
}

/// One recorder per event loop of a group, and the means to read them all together.
final class RecorderSet: Sendable {
    private let recorders: [ObjectIdentifier: NIOLoopBoundBox<Recorder>]
    let phaseStart: NIODeadline

    init(group: any EventLoopGroup, phaseStart: NIODeadline = .now()) {
        self.phaseStart = phaseStart
        var recorders: [ObjectIdentifier: NIOLoopBoundBox<Recorder>] = [:]
        for eventLoop in group.makeIterator() {
            // Made off the loop and handed over whole: from here on only `eventLoop` touches it.
            recorders[ObjectIdentifier(eventLoop)] = .makeBoxSendingValue(
                Recorder(phaseStart: phaseStart), eventLoop: eventLoop)
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
