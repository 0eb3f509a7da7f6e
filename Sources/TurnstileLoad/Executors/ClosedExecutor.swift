import Foundation
import NIOCore
import TurnstileReport

/// N virtual users, each on its own keep-alive connection, looping — send, wait for the answer, think — until the
/// phase's time is up. Throughput follows from the users and the target's latency (a closed system).
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
        let startedAt = Date()
        let recorders = RecorderSet(group: group)
        let deadline = recorders.phaseStart + duration
        let ticker = progress?.start(phaseName, users: users, recorders: recorders)
        let finished = (0..<users).map { user in
            let eventLoop = group.next()
            return eventLoop.flatSubmit {
                let loop = UserLoop(
                    user: user, scenario: scenario, target: target, eventLoop: eventLoop, deadline: deadline,
                    thinkTime: thinkTime, timeouts: timeouts, recorder: recorders.recorder(on: eventLoop))
                return loop.start()
            }
        }
        for user in finished { try await user.get() }
        ticker?.cancel()
        return await recorders.phaseReport(phaseName, executor: "closed", startedAt: startedAt, users: users)
    }
}

/// One virtual user's loop, confined to its event loop.
private final class UserLoop {
    private let user: Int
    private let scenario: Scenario
    private let target: LoadTarget
    private let eventLoop: any EventLoop
    private let deadline: NIODeadline
    private let thinkTime: TimeAmount
    private let timeouts: HTTPClientConnection.Timeouts
    private let recorder: Recorder
    private let done: EventLoopPromise<Void>
    private var connection: HTTPClientConnection?
    private var iteration = 0

    /// After a failed connect, wait this long before trying again, so a dead target is not hammered in a loop.
    private static let reconnectDelay = LoadLimits.reconnectDelay

    init(
        user: Int, scenario: @escaping Scenario, target: LoadTarget, eventLoop: any EventLoop, deadline: NIODeadline,
        thinkTime: TimeAmount, timeouts: HTTPClientConnection.Timeouts, recorder: Recorder
    ) {
        self.user = user
        self.scenario = scenario
        self.target = target
        self.eventLoop = eventLoop
        self.deadline = deadline
        self.thinkTime = thinkTime
        self.timeouts = timeouts
        self.recorder = recorder
        done = eventLoop.makePromise()
    }

    func start() -> EventLoopFuture<Void> {
        step()
        return done.futureResult
    }

    private func step() {
        guard NIODeadline.now() < deadline else {
            connection?.close()
            done.succeed()
            return
        }
        let request = scenario(user, iteration)
        iteration += 1
        let start = NIODeadline.now()
        if let connection, connection.isReusable {
            send(request, on: connection, start: start)
            return
        }
        connection?.close()
        connection = nil
        HTTPClientConnection.connect(to: target, on: eventLoop, timeouts: timeouts)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let connection):
                    self.connection = connection
                    self.send(request, on: connection, start: start)
                case .failure(let error):
                    self.recorder.record(
                        request, start: start, end: .now(),
                        result: .failure(ResponseHandler.classify(error)))
                    self.eventLoop.assumeIsolated().scheduleTask(in: Self.reconnectDelay) { self.step() }
                }
            }
    }

    private func send(_ request: LoadRequest, on connection: HTTPClientConnection, start: NIODeadline) {
        connection.send(request, timeouts: timeouts) { result in
            self.recorder.record(
                request, start: start, end: .now(), result: result)
            if case .failure = result { connection.close() }
            if self.thinkTime > .zero {
                self.eventLoop.assumeIsolated().scheduleTask(in: self.thinkTime) { self.step() }
            } else {
                self.step()
            }
        }
    }
}
