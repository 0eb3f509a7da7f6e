import NIOCore
import NIOHTTP1
import TurnstileReport

/// The ad-hoc mode people know from wrk and hey: one URL, `connections` keep-alive connections, for a duration;
/// closed-loop, or at a fixed arrival rate when one is given.
public struct URLSuite: Sendable {
    public var request: LoadRequest
    public var connections: Int
    public var duration: TimeAmount
    /// Requests per second for an open (arrival-rate) run; nil for closed-loop.
    public var rate: Double?

    public init(request: LoadRequest, connections: Int, duration: TimeAmount, rate: Double? = nil) {
        self.request = request
        self.connections = connections
        self.duration = duration
        self.rate = rate
    }

    public func run(
        target: LoadTarget, group: any EventLoopGroup, timeouts: HTTPClientConnection.Timeouts,
        progress: ProgressReporter?
    ) async throws -> PhaseReport {
        let request = self.request
        let scenario: Scenario = { _, _ in request }
        if let rate {
            return try await OpenExecutor(
                rate: rate, duration: duration, connectionsMax: connections, timeouts: timeouts
            ).run("url", scenario: scenario, target: target, group: group, progress: progress)
        }
        return try await ClosedExecutor(users: connections, duration: duration, timeouts: timeouts)
            .run("url", scenario: scenario, target: target, group: group, progress: progress)
    }
}
