import Foundation
import NIOCore
import Synchronization

/// A virtual user with an identity of its own on the target: registered, logged in, holding its own token. A
/// shared token would trip per-user rate limits and hide real concurrency.
public struct VirtualUser: Sendable {
    public let index: Int
    public let id: Int64
    public let token: String
}

/// Registers and logs in distinct users before a run. Set-up, not measurement: excluded from the statistics.
public struct Provisioner: Sendable {
    /// How many users are set up at once.
    public static let concurrencyMax = LoadLimits.provisioningConcurrencyMax

    public let target: LoadTarget
    public let group: any EventLoopGroup
    public let timeouts: HTTPClientConnection.Timeouts
    /// Makes this run's emails unique, so runs against a long-lived target never collide.
    public let runID: String

    public init(
        target: LoadTarget, group: any EventLoopGroup, timeouts: HTTPClientConnection.Timeouts = .init(),
        runID: String = String(UInt32.random(in: .min ... .max), radix: 36)
    ) {
        self.target = target
        self.group = group
        self.timeouts = timeouts
        self.runID = runID
    }

    /// `count` users, in index order; reports progress once a second while it works.
    public func provision(_ count: Int, progress: ProgressReporter? = nil) async throws -> [VirtualUser] {
        let done = ProvisionedCount()
        let reporter = progress?.noteEverySecond { "provisioning users: \(done.value)/\(count)" }
        defer { reporter?.cancel() }
        let workers = min(Self.concurrencyMax, count)
        return try await withThrowingTaskGroup(of: [VirtualUser].self) { tasks in
            for worker in 0..<workers {
                let session = APISession(target: target, eventLoop: group.next(), timeouts: timeouts)
                tasks.addTask {
                    var users: [VirtualUser] = []
                    for index in stride(from: worker, to: count, by: workers) {
                        users.append(try await provisionOne(index, session: session))
                        done.increment()
                    }
                    return users
                }
            }
            var users: [VirtualUser] = []
            for try await batch in tasks { users += batch }
            return users.sorted { $0.index < $1.index }
        }
    }

    private func provisionOne(_ index: Int, session: APISession) async throws -> VirtualUser {
        let name = "ts\(runID)u\(index)"
        let email = "\(name)@turnstile.load"
        let password = "pw-\(name)-\(runID)"
        let user = try await session.call(
            TurnstileAPI.register(email: email, username: name, password: password), expecting: 201,
            as: TurnstileAPI.User.self)
        let token = try await session.call(
            TurnstileAPI.login(email: email, password: password), expecting: 200, as: TurnstileAPI.Token.self)
        return VirtualUser(index: index, id: user.id, token: token.accessToken)
    }
}

/// A counter shared by provisioning workers and the progress line.
private final class ProvisionedCount: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
