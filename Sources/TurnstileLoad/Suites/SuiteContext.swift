import NIOCore
import NIOPosix

/// Where and how a suite runs: the target, the event loops its clients use, how long they wait, and where progress
/// is reported. Every suite is made from one.
public struct SuiteContext: Sendable {
    public let target: LoadTarget
    public let group: any EventLoopGroup
    public let timeouts: HTTPClientConnection.Timeouts
    public let progress: ProgressReporter?
    /// How long set-up, provisioning and read-back calls may take: longer than measured ones by default.
    public let setupTimeouts: HTTPClientConnection.Timeouts

    public init(
        target: LoadTarget, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeouts: HTTPClientConnection.Timeouts = .init(), progress: ProgressReporter? = nil,
        setupTimeouts: HTTPClientConnection.Timeouts? = nil
    ) {
        self.target = target
        self.group = group
        self.timeouts = timeouts
        self.progress = progress
        self.setupTimeouts =
            setupTimeouts
            ?? HTTPClientConnection.Timeouts(
                connect: timeouts.connect, read: max(timeouts.read, LoadLimits.setupTimeout),
                response: max(timeouts.response, LoadLimits.setupTimeout))
    }

    /// A sequential session for set-up and read-back calls.
    func session() -> APISession {
        APISession(target: target, eventLoop: group.next(), timeouts: timeouts)
    }

    /// A sequential session with the set-up timeouts.
    func setupSession() -> APISession {
        APISession(target: target, eventLoop: group.next(), timeouts: setupTimeouts)
    }
}
