import Foundation
import NIOCore
import TurnstileReport

/// Requests arrive at a fixed rate, or one ramping linearly from `rate` to `rateEnd`, whatever the target's latency
/// (an open system), on up to `connectionsMax` keep-alive connections.
///
/// Latency is measured from each request's *intended* start, so a stalled target cannot hide its stall by slowing the
/// load down (coordinated omission corrected). A request that could not start on time, because every connection was
/// busy, waits in a backlog and is a late start. The phase ends at its duration: arrivals stop, an arrival still
/// waiting for a connection then is dropped, and only the requests in flight are awaited (each bounded by the
/// response timeout). An arrival beyond ``backlogMax`` is dropped too. When arrivals were dropped, the phase warns that
/// the connections could not carry the rate, and says about how many would.
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
    static let backlogMax = LoadLimits.openBacklogMax

    public init(
        rate: Double, rateEnd: Double? = nil, duration: TimeAmount, connectionsMax: Int,
        timeouts: HTTPClientConnection.Timeouts = .init()
    ) {
        precondition(
            rate > 0 && (rateEnd ?? 1) > 0 && connectionsMax > 0, "an open executor needs rates and connections")
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
        let ticker = progress?.start(phaseName, executor: "open", users: connectionsMax, recorders: recorders)
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
        var counts = Pacer.Counts()
        for pacer in pacers {
            let part = try await pacer.get()
            counts.late += part.late
            counts.dropped += part.dropped
            counts.arrivals += part.arrivals
            counts.answered += part.answered
            counts.busyNanoseconds += part.busyNanoseconds
        }
        ticker?.cancel()
        var report = await recorders.phaseReport(
            phaseName, executor: "open", startedAt: startedAt, users: connectionsMax, lateStarts: counts.late,
            droppedStarts: counts.dropped)
        if counts.dropped > 0 { report.warnings.append(capacityWarning(counts)) }
        progress?.finished(report)
        return report
    }

    /// Says that the connections could not carry the rate, and about how many would (Little's law: connections in
    /// use = arrival rate × the time each request holds one, from its send to its answer — not its latency, which
    /// runs from its intended start and so includes the wait for a connection).
    private func capacityWarning(_ counts: Pacer.Counts) -> String {
        let rateAsked = max(rate, rateEnd ?? rate)
        var text =
            "\(connectionsMax) connections could not carry \(Format.rate(rateAsked)): \(counts.dropped) of "
            + "\(counts.arrivals) arrivals were dropped"
        guard counts.answered > 0, counts.busyNanoseconds > 0 else { return text + "; no request was answered" }
        let seconds = Double(counts.busyNanoseconds) / Double(counts.answered) / 1e9
        // A quarter more than the bare product, for the service time's spread around its mean.
        let needed = Int((rateAsked * seconds * 1.25).rounded(.up))
        text +=
            "; each request held its connection \(Format.microseconds(seconds * 1e6)) on average, so a connection "
            + "carries about \(Format.rate(1 / seconds))"
        if needed > connectionsMax {
            text += ": about \(needed) connections would (-c \(needed))"
        } else {
            text += ": the connections sufficed in theory, so the target or this machine could not keep up"
        }
        return text
    }
}

/// One event loop's share of the arrivals, confined to that loop.
///
/// Its life has three steps: `running` (arrivals are generated on each tick and sent as connections allow),
/// `draining` (the deadline passed: no new arrivals, those still waiting for a connection are dropped, and the phase
/// waits only for the requests in flight), and `finished` (the counts are handed over, once).
private final class Pacer {
    private enum Step {
        case running
        case draining
        case finished
    }

    struct Counts {
        var late: UInt64 = 0
        var dropped: UInt64 = 0
        /// Arrivals generated before the deadline, sent or not.
        var arrivals: UInt64 = 0
        /// Requests that completed (answered or not), and the time they held their connections, send to end.
        var answered: UInt64 = 0
        var busyNanoseconds: Int64 = 0
    }

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
    private let done: EventLoopPromise<Counts>

    private var step = Step.running
    private var nextArrival: NIODeadline
    private var arrivals = 0
    private var backlog: [NIODeadline] = []
    private var backlogHead = 0
    /// Connections with room for a request: an HTTP/1.1 connection once, when it is idle; an HTTP/2 connection once
    /// for each of its free streams (``HTTPOptions/streams`` in all).
    private var idle: [HTTPClientConnection] = []
    /// The connections open or opening, by identity; opening ones by a placeholder count.
    private var live: Set<ObjectIdentifier> = []
    private var opening = 0
    private var open: Int { live.count + opening }
    /// Requests sent or waiting for their connection to open: at most `connectionsMax` (the users) at once.
    private var inFlight = 0
    /// The requests an HTTP/2 connection is expected to carry at once (``HTTPOptions/streams``); 1 on HTTP/1.1.
    private let streamsExpected: Int
    /// Streams of connections still opening, beyond the request that opens each: arrivals wait for them rather
    /// than open connections of their own.
    private var streamsAwaited = 0
    private var counts = Counts()
    private var ticker: RepeatedTask?

    init(
        loopIndex: Int, loopCount: Int, rate: Double, rateEnd: Double, connectionsMax: Int, start: NIODeadline,
        deadline: NIODeadline, scenario: @escaping Scenario, target: LoadTarget, eventLoop: any EventLoop,
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
        let speaksHTTP2 = target.http.version == .http2 || (target.tls != nil && target.http.version == .auto)
        streamsExpected = speaksHTTP2 ? max(1, target.http.streams ?? 1) : 1
        nextArrival = start
        done = eventLoop.makePromise()
    }

    func start() -> EventLoopFuture<Counts> {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        ticker = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: OpenExecutor.tick) { _ in
            bound.value.tick()
        }
        return done.futureResult
    }

    private func tick() {
        guard case .running = step else { return }
        let now = NIODeadline.now()
        while nextArrival <= now, nextArrival < deadline {
            counts.arrivals += 1
            if backlog.count - backlogHead < OpenExecutor.backlogMax {
                backlog.append(nextArrival)
            } else {
                counts.dropped += 1
            }
            nextArrival = nextArrival + interval(at: nextArrival)
        }
        dispatch()
        if now >= deadline {
            // The phase is over: an arrival that could not start by now never will, and only what is in flight is
            // awaited (each request bounded by its response timeout).
            step = .draining
            ticker?.cancel()
            counts.dropped += UInt64(backlog.count - backlogHead)
            backlog.removeAll()
            backlogHead = 0
        }
        finishIfDone()
    }

    /// The gap to the next arrival, from the rate at `time` (linear from the start rate to the end rate).
    private func interval(at time: NIODeadline) -> TimeAmount {
        let length = Double((deadline - phaseStart).nanoseconds)
        let progress = length > 0 ? min(1, Double((time - phaseStart).nanoseconds) / length) : 0
        let rate = rateStart + (rateEnd - rateStart) * progress
        return .nanoseconds(max(1, Int64(1e9 / rate)))
    }

    /// Sends waiting arrivals on idle connections, opening new ones up to the maximum.
    private func dispatch() {
        while backlogHead < backlog.count, inFlight + streamsAwaited < connectionsMax {
            let intended = backlog[backlogHead]
            if let connection = takeIdleConnection() {
                backlogHead += 1
                send(intended: intended, on: connection)
            } else if backlog.count - backlogHead <= streamsAwaited {
                // The connections opening will carry these.
                break
            } else if open < connectionsMax {
                backlogHead += 1
                connectThenSend(intended: intended)
            } else {
                break
            }
        }
        if backlogHead > 1_024, backlogHead * 2 > backlog.count {
            backlog.removeFirst(backlogHead)
            backlogHead = 0
        }
    }

    /// An idle connection still fit for a request; ones the server closed meanwhile are let go.
    private func takeIdleConnection() -> HTTPClientConnection? {
        while let connection = idle.popLast() {
            if connection.isReusable { return connection }
            retire(connection)
        }
        return nil
    }

    /// Closes `connection` and stops counting it (once, however many of its streams end).
    private func retire(_ connection: HTTPClientConnection) {
        connection.close()
        live.remove(ObjectIdentifier(connection))
    }

    private func connectThenSend(intended: NIODeadline) {
        opening += 1
        inFlight += 1
        streamsAwaited += streamsExpected - 1
        HTTPClientConnection.connect(to: target, on: eventLoop, timeouts: timeouts)
            .assumeIsolated()
            .whenComplete { result in
                self.inFlight -= 1
                self.opening -= 1
                self.streamsAwaited -= self.streamsExpected - 1
                switch result {
                case .success(let connection):
                    self.live.insert(ObjectIdentifier(connection))
                    // An arrival's latency runs from its intended start, connecting included: the wait is the
                    // arrival's. The set-up is also its own figure.
                    self.recorder.recordSetup(of: connection)
                    if connection.isMultiplexed {
                        // Its other streams are free for the next arrivals.
                        let streams = min(self.target.http.streams ?? 1, connection.requestsMax)
                        self.idle += repeatElement(connection, count: max(0, streams - 1))
                    }
                    self.send(intended: intended, on: connection)
                    self.dispatch()
                case .failure(let error):
                    self.recorder.record(
                        self.nextRequest(), start: intended, end: .now(),
                        result: .failure(ResponseHandler.classify(error)))
                    self.dispatch()
                    self.finishIfDone()
                }
            }
    }

    private func nextRequest() -> LoadRequest {
        defer { arrivals += 1 }
        return scenario(loopIndex + loopCount * (arrivals % connectionsMax), arrivals)
    }

    private func send(intended: NIODeadline, on connection: HTTPClientConnection) {
        if NIODeadline.now() - intended > OpenExecutor.lateness { counts.late += 1 }
        let request = nextRequest()
        inFlight += 1
        let sentAt = NIODeadline.now()
        connection.send(request, timeouts: timeouts) { result in
            self.inFlight -= 1
            self.counts.answered += 1
            self.counts.busyNanoseconds += (NIODeadline.now() - sentAt).nanoseconds
            self.recorder.record(
                request, start: intended, end: .now(), result: result)
            // A failed stream leaves its HTTP/2 connection fit for others; a failed HTTP/1.1 exchange does not.
            let succeeded = (try? result.get()) != nil
            if connection.isReusable, succeeded || connection.isMultiplexed {
                self.idle.append(connection)
            } else {
                self.retire(connection)
            }
            self.dispatch()
            self.finishIfDone()
        }
    }

    private func finishIfDone() {
        guard case .draining = step, inFlight == 0, backlogHead == backlog.count else { return }
        step = .finished
        for connection in idle { retire(connection) }
        idle.removeAll()
        done.succeed(counts)
    }
}
