import Foundation
import NIOCore
import TurnstileReport

/// N virtual users, each on its own keep-alive connection, looping — send, wait for the answer, think — until the
/// phase's time is up. Throughput follows from the users and the target's latency (a closed system).
///
/// On HTTP/2, ``HTTPOptions/streams`` users share a connection, each request a stream of it, as a browser's tabs do:
/// the users of one connection run on its event loop.
public struct ClosedExecutor: Sendable {
    public var users: Int
    public var duration: TimeAmount
    public var thinkTime: TimeAmount
    public var timeouts: HTTPClientConnection.Timeouts

    public init(
        users: Int, duration: TimeAmount, thinkTime: TimeAmount = .zero,
        timeouts: HTTPClientConnection.Timeouts = .init()
    ) {
        precondition(users > 0, "a closed executor needs users")
        self.users = users
        self.duration = duration
        self.thinkTime = thinkTime
        self.timeouts = timeouts
    }

    public func run(
        _ phaseName: String, scenario: @escaping Scenario, target: LoadTarget, group: any EventLoopGroup,
        progress: ProgressReporter? = nil
    ) async throws -> PhaseReport {
        let thinkTime = self.thinkTime
        return try await run(
            phaseName, scripts: { user, _ in FixedScript(user: user, scenario: scenario, thinkTime: thinkTime) },
            target: target, group: group, progress: progress
        ).report
    }

    /// Runs one script per user, each made on its user's event loop; returns the phase's report and what each
    /// script says when its user stops, in user order.
    public func run<Script: UserScript>(
        _ phaseName: String,
        scripts makeScript: @escaping @Sendable (_ user: Int, _ eventLoop: any EventLoop) -> Script,
        target: LoadTarget, group: any EventLoopGroup, progress: ProgressReporter? = nil
    ) async throws -> (report: PhaseReport, summaries: [Script.Summary]) {
        let startedAt = Date()
        let recorders = RecorderSet(group: group)
        let deadline = recorders.phaseStart + duration
        let ticker = progress?.start(phaseName, executor: "closed", users: users, recorders: recorders)
        let timeouts = self.timeouts
        let streams = max(1, target.http.streams ?? 1)
        let loops = Array(group.makeIterator())
        let shares = streams > 1 ? SharedConnections.Set(group: group) : nil
        let finished = (0..<users).map { user in
            // The users who share a connection share its event loop.
            let eventLoop = streams > 1 ? loops[(user / streams) % loops.count] : group.next()
            return eventLoop.flatSubmit {
                let loop = UserLoop(
                    script: makeScript(user, eventLoop), target: target, eventLoop: eventLoop, deadline: deadline,
                    timeouts: timeouts, recorder: recorders.recorder(on: eventLoop),
                    share: shares.map { ($0.shared(on: eventLoop), user / streams) })
                return loop.start()
            }
        }
        var summaries: [Script.Summary] = []
        for user in finished { summaries.append(try await user.get()) }
        await shares?.closeAll()
        ticker?.cancel()
        let report = await recorders.phaseReport(phaseName, executor: "closed", startedAt: startedAt, users: users)
        progress?.finished(report)
        return (report, summaries)
    }
}

/// What one looping virtual user sends, one request after another. Made on its user's event loop and used only
/// there, so it may keep state (captured values, where it is in a sequence) without locks.
public protocol UserScript: AnyObject, SendableMetatype {
    /// What the script says when its user stops, carried off the event loop.
    associatedtype Summary: Sendable

    /// The next request, and whether its body is needed; nil when the user has nothing more to send.
    func nextRequest() -> (request: LoadRequest, keepBody: Bool)?
    /// The outcome of the request last returned; returns how long to think before the next one.
    func received(_ result: Result<LoadResponse, LoadError>) -> TimeAmount
    /// Called once, when the user stops.
    func finish() -> Summary
}

/// A ``Scenario`` closure as a script: the same think time after every request.
private final class FixedScript: UserScript {
    private let user: Int
    private let scenario: Scenario
    private let thinkTime: TimeAmount
    private var iteration = 0

    init(user: Int, scenario: @escaping Scenario, thinkTime: TimeAmount) {
        self.user = user
        self.scenario = scenario
        self.thinkTime = thinkTime
    }

    func nextRequest() -> (request: LoadRequest, keepBody: Bool)? {
        defer { iteration += 1 }
        return (scenario(user, iteration), false)
    }

    func received(_ result: Result<LoadResponse, LoadError>) -> TimeAmount { thinkTime }

    func finish() {}
}

/// One virtual user's loop, confined to its event loop.
private final class UserLoop<Script: UserScript> {
    private let script: Script
    private let target: LoadTarget
    private let eventLoop: any EventLoop
    private let deadline: NIODeadline
    private let timeouts: HTTPClientConnection.Timeouts
    private let recorder: Recorder
    private let done: EventLoopPromise<Script.Summary>
    /// The connections this user's loop shares with other users, and which one is this user's.
    private var share: (connections: SharedConnections, slot: Int)?
    private var connection: HTTPClientConnection?

    /// After a failed connect, wait this long before trying again, so a dead target is not hammered in a loop.
    private static var reconnectDelay: TimeAmount { LoadLimits.reconnectDelay }

    init(
        script: Script, target: LoadTarget, eventLoop: any EventLoop, deadline: NIODeadline,
        timeouts: HTTPClientConnection.Timeouts, recorder: Recorder,
        share: (connections: SharedConnections, slot: Int)?
    ) {
        self.share = share
        self.script = script
        self.target = target
        self.eventLoop = eventLoop
        self.deadline = deadline
        self.timeouts = timeouts
        self.recorder = recorder
        done = eventLoop.makePromise()
    }

    func start() -> EventLoopFuture<Script.Summary> {
        step()
        return done.futureResult
    }

    private func step() {
        guard NIODeadline.now() < deadline, let (request, keepBody) = script.nextRequest() else {
            // A shared connection may still carry other users' requests: the executor closes those at the end.
            if share == nil { connection?.close() }
            done.succeed(script.finish())
            return
        }
        let start = NIODeadline.now()
        if let connection, connection.isReusable {
            send(request, keepBody: keepBody, on: connection, start: start)
            return
        }
        if share == nil { connection?.close() }
        connection = nil
        let (target, eventLoop, timeouts) = (self.target, self.eventLoop, self.timeouts)
        let open = { HTTPClientConnection.connect(to: target, on: eventLoop, timeouts: timeouts) }
        let (connecting, opened) = share.map { $0.connections.connection(slot: $0.slot, open: open) } ?? (open(), true)
        connecting
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let connection) where !opened && !connection.isMultiplexed:
                    // The target spoke HTTP/1.1 after all, which carries one request at a time: this user opens its
                    // own connection next time round.
                    self.share = nil
                    self.step()
                case .success(let connection):
                    // The connection's set-up is its own figure: the request's latency starts once it is open.
                    if opened { self.recorder.recordSetup(of: connection) }
                    self.connection = connection
                    self.send(request, keepBody: keepBody, on: connection, start: .now())
                case .failure(let error):
                    let failure = ResponseHandler.classify(error)
                    self.recorder.record(request, start: start, end: .now(), result: .failure(failure))
                    _ = self.script.received(.failure(failure))
                    self.eventLoop.assumeIsolated().scheduleTask(in: Self.reconnectDelay) { self.step() }
                }
            }
    }

    private func send(_ request: LoadRequest, keepBody: Bool, on connection: HTTPClientConnection, start: NIODeadline) {
        connection.send(request, timeouts: timeouts, keepBody: keepBody) { result in
            self.recorder.record(request, start: start, end: .now(), result: result)
            // A failed stream leaves its HTTP/2 connection to the other streams; a failed HTTP/1.1 exchange does not.
            if case .failure = result, !connection.isMultiplexed { connection.close() }
            let thinkTime = self.script.received(result)
            if thinkTime > .zero {
                self.eventLoop.assumeIsolated().scheduleTask(in: thinkTime) { self.step() }
            } else {
                self.step()
            }
        }
    }
}

/// HTTP/2 connections that the users of one event loop share, ``HTTPOptions/streams`` users to a slot: the first user
/// of a slot to need a connection opens it, the others wait for the same one, and a user who finds it closed (or
/// gone away) opens the next. Used on its event loop only.
final class SharedConnections {
    private enum Slot {
        case opening(EventLoopFuture<HTTPClientConnection>)
        case open(HTTPClientConnection)
    }

    private var slots: [Int: Slot] = [:]
    /// Connections a slot replaced (closed, or gone away with streams still running): closed at the end.
    private var replaced: [HTTPClientConnection] = []

    /// The slot's connection, opened with `open` if it has none fit for use, and whether this call opened it.
    func connection(
        slot: Int, open: () -> EventLoopFuture<HTTPClientConnection>
    ) -> (EventLoopFuture<HTTPClientConnection>, opened: Bool) {
        switch slots[slot] {
        case .opening(let opening):
            return (opening, false)
        case .open(let connection) where connection.isReusable:
            return (connection.eventLoop.makeSucceededFuture(connection), false)
        case .open(let connection):
            replaced.append(connection)
        case nil:
            break
        }
        let opening = open()
        slots[slot] = .opening(opening)
        opening.assumeIsolated().whenComplete { result in
            self.slots[slot] = (try? result.get()).map { .open($0) }
        }
        return (opening, true)
    }

    /// Closes every connection, once all their users have stopped.
    func closeAll() {
        for case .open(let connection) in slots.values { connection.close() }
        for connection in replaced { connection.close() }
        slots = [:]
        replaced = []
    }

    /// One per event loop of a group.
    final class Set: Sendable {
        private let shares: [ObjectIdentifier: NIOLoopBoundBox<SharedConnections>]

        init(group: any EventLoopGroup) {
            var shares: [ObjectIdentifier: NIOLoopBoundBox<SharedConnections>] = [:]
            for eventLoop in group.makeIterator() {
                shares[ObjectIdentifier(eventLoop)] = .makeBoxSendingValue(SharedConnections(), eventLoop: eventLoop)
            }
            self.shares = shares
        }

        /// The shared connections of `eventLoop`. On that event loop.
        func shared(on eventLoop: any EventLoop) -> SharedConnections {
            shares[ObjectIdentifier(eventLoop)]!.value
        }

        /// Closes every loop's connections, once all their users have stopped.
        func closeAll() async {
            for share in shares.values { try? await share.eventLoop.submit { share.value.closeAll() }.get() }
        }
    }
}
