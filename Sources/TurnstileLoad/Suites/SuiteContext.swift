import NIOCore
import NIOPosix

/// Where and how a suite runs: the target, the event loops its clients use, how long they wait, and where progress
/// is reported. Every suite is made from one.
public struct SuiteContext: Sendable {
    public let target: LoadTarget
    public let group: any EventLoopGroup
    public let timeouts: HTTPClientConnection.Timeouts
    public let progress: ProgressReporter?

    public init(
        target: LoadTarget, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeouts: HTTPClientConnection.Timeouts = .init(), progress: ProgressReporter? = nil
    ) {
        self.target = target
        self.group = group
        self.timeouts = timeouts
        self.progress = progress
    }

    /// `count` freshly provisioned users, each with an account and token of their own.
    public func provision(_ count: Int) async throws -> [VirtualUser] {
        try await Provisioner(target: target, group: group, timeouts: timeouts).provision(count, progress: progress)
    }

    /// A sequential session for set-up and read-back calls.
    func session() -> APISession {
        APISession(target: target, eventLoop: group.next(), timeouts: timeouts)
    }
}
