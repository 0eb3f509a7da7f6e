import Foundation
import NIOCore
import TurnstileReport

/// Requests arrive at a fixed rate, or one ramping linearly from `rate` to `rateEnd`, whatever the target's latency
/// (an open system), on up to `connectionsMax` keep-alive connections.
///
/// Latency is measured from each request's *intended* start, so a stalled target cannot hide its stall by slowing the
/// load down (coordinated omission corrected). A request that could not start on time, because every connection was
/// busy, waits in a backlog and is a late start; arrivals stop at the end of the phase, but every arrival already due
/// is still sent and measured. Only an arrival beyond ``backlogMax`` is dropped (and counted as late).
public struct OpenExecutor: Sendable {
    public var rate: Double
    /// The rate at the end of the phase, for a linear ramp; nil for a constant rate.
    public var rateEnd: Double?
    public var duration: TimeAmount
    public var connectionsMax: Int
    public var timeouts: HTTPClientConnection.Timeouts

    /// How often arrivals are released: at most this late by the pacing alone.
    static let tick = TimeAmount.milliseconds(1)
    /// A start later than its intended time by more than this counts as late.
    static let lateness = TimeAmount.milliseconds(1)
    /// The most arrivals waiting for a connection on one event loop; beyond it they are dropped, so a target that
    /// stops answering cannot make the engine's memory grow without bound.
    static let backlogMax = 100_000

    public init(
        rate: Double, rateEnd: Double? = nil, duration: TimeAmount, connectionsMax: Int,
        timeouts: HTTPClientConnection.Timeouts = .init()
    ) {
        precondition(rate > 0 && (rateEnd ?? 1) > 0 && connectionsMax > 0, "an open executor needs rates and connections")
        self.rate = rate
        self.rateEnd = rateEnd
        self.duration = duration
        self.connectionsMax = connectionsMax
        self.timeouts = timeouts
    }

    public func run(
        _ phaseName: String, scenario: @escaping Scenario, target: LoadTarget, group: any EventLoopGroup,
        progress: ProgressReporter? = nil
    ) async throws -> PhaseReport {
        let startedAt = Date()
        let recorders = RecorderSet(group: group)
        let loops = Array(group.makeIterator())
        let ticker = progress?.start(phaseName, users: connectionsMax, recorders: recorders)
        let pacers = loops.enumerated().map { index, eventLoop in
            eventLoop.flatSubmit {
                Pacer(
                    loopIndex: index, loopCount: loops.count, rate: rate / Double(loops.count),
                    rateEnd: (rateEnd ?? rate) / Double(loops.count),
                    connectionsMax: max(1, connectionsMax / loops.count), start: recorders.phaseStart,
                    deadline: recorders.phaseStart + duration, scenario: scenario, target: target,
                    eventLoop: eventLoop, timeouts: timeouts, recorder: recorders.recorder(on: eventLoop)
                ).start()
            }
        }
        var lateStarts: UInt64 = 0
        for pacer in pacers { lateStarts += try await pacer.get() }
        ticker?.cancel()
        return await recorders.phaseReport(
            phaseName, executor: "open", startedAt: startedAt, users: connectionsMax, lateStarts: lateStarts)
    }
}

/// One event loop's share of the arrivals, confined to that loop.
private final class Pacer {
    private let loopIndex: Int
    private let loopCount: Int
    private let rateStart: Double
    private let rateEnd: Double
    private let phaseStart: NIODeadline
    private let connectionsMax: Int
    private let deadline: NIODeadline
    private let scenario: Scenario
    private let target: LoadTarget
    private let eventLoop: any EventLoop
    private let timeouts: HTTPClientConnection.Timeouts
    private let recorder: Recorder
    private let done: EventLoopPromise<UInt64>

    private var nextArrival: NIODeadline
    private var arrivals = 0
    private var backlog: [NIODeadline] = []
    private var backlogHead = 0
    private var idle: [HTTPClientConnection] = []
    private var open = 0
    private var inFlight = 0
    private var lateStarts: UInt64 = 0
    private var ticker: RepeatedTask?

    init(
        loopIndex: Int, loopCount: Int, rate: Double, rateEnd: Double, connectionsMax: Int, start: NIODeadline,
        deadline: NIODeadline,
        scenario: @escaping Scenario, target: LoadTarget, eventLoop: any EventLoop,
        timeouts: HTTPClientConnection.Timeouts, recorder: Recorder
    ) {
        self.loopIndex = loopIndex
        self.loopCount = loopCount
        rateStart = rate
        self.rateEnd = rateEnd
        phaseStart = start
        self.connectionsMax = connectionsMax
        self.deadline = deadline
        self.scenario = scenario
        self.target = target
        self.eventLoop = eventLoop
        self.timeouts = timeouts
        self.recorder = recorder
        nextArrival = start
        done = eventLoop.makePromise()
    }

    func start() -> EventLoopFuture<UInt64> {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        ticker = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: OpenExecutor.tick) { _ in
            bound.value.tick()
        }
        return done.futureResult
    }

    private func tick() {
        let now = NIODeadline.now()
        while nextArrival <= now, nextArrival < deadline {
            if backlog.count - backlogHead < OpenExecutor.backlogMax {
                backlog.append(nextArrival)
            } else {
                lateStarts += 1
            }
            nextArrival = nextArrival + interval(at: nextArrival)
        }
        dispatch()
        if now >= deadline {
            // No more arrivals; the ones already due are still sent as connections free up.
            ticker?.cancel()
            finishIfIdle()
        }
    }

    /// The gap to the next arrival, from the rate at `time` (linear from the start rate to the end rate).
    private func interval(at time: NIODeadline) -> TimeAmount {
        let length = Double((deadline - phaseStart).nanoseconds)
        let progress = length > 0 ? min(1, Double((time - phaseStart).nanoseconds) / length) : 0
        let rate = rateStart + (rateEnd - rateStart) * progress
        return .nanoseconds(max(1, Int64(1e9 / rate)))
    }

    private func dispatch() {
        while backlogHead < backlog.count {
            let intended = backlog[backlogHead]
            if let connection = idle.popLast() {
                backlogHead += 1
                send(intended: intended, on: connection)
            } else if open < connectionsMax {
                backlogHead += 1
                open += 1
                inFlight += 1
                HTTPClientConnection.connect(to: target, on: eventLoop, timeouts: timeouts)
                    .assumeIsolated()
                    .whenComplete { result in
                        self.inFlight -= 1
                        switch result {
                        case .success(let connection): self.send(intended: intended, on: connection)
                        case .failure(let error):
                            self.open -= 1
                            let request = self.nextRequest()
                            self.recorder.record(
                                request.endpoint, start: intended, end: .now(),
                                result: .failure(ResponseHandler.classify(error)))
                            self.finishIfIdle()
                        }
                    }
            } else {
                break
            }
        }
        if backlogHead > 1_024, backlogHead * 2 > backlog.count {
            backlog.removeFirst(backlogHead)
            backlogHead = 0
        }
    }

    private func nextRequest() -> LoadRequest {
        defer { arrivals += 1 }
        return scenario(loopIndex + loopCount * (arrivals % connectionsMax), arrivals)
    }

    private func send(intended: NIODeadline, on connection: HTTPClientConnection) {
        let startedAt = NIODeadline.now()
        if startedAt - intended > OpenExecutor.lateness { lateStarts += 1 }
        let request = nextRequest()
        inFlight += 1
        connection.send(request, timeouts: timeouts) { result in
            self.inFlight -= 1
            self.recorder.record(request.endpoint, start: intended, end: .now(), result: result)
            if case .success = result, connection.isReusable {
                self.idle.append(connection)
            } else {
                connection.close()
                self.open -= 1
            }
            self.dispatch()
            self.finishIfIdle()
        }
    }

    private func finishIfIdle() {
        guard NIODeadline.now() >= deadline, inFlight == 0, backlogHead == backlog.count else { return }
        for connection in idle { connection.close() }
        idle.removeAll()
        done.succeed(lateStarts)
    }
}
