import Foundation
import NIOCore
import TurnstileReport
import TurnstileWire

/// A virtual user with an identity of its own on the target: registered, logged in, holding its own token. A
/// shared token would trip per-user rate limits and hide real concurrency.
public struct VirtualUser: Sendable {
    public let index: Int
    public let id: Int64
    public let token: String
}

/// Registers and logs in distinct users before a run. Set-up, not measurement: excluded from the statistics, with
/// the set-up timeouts, and as many at once as the target answers quickly (see ``SetupConcurrency``).
public struct Provisioner: Sendable {
    public let context: SuiteContext
    /// Makes this run's emails unique, so runs against a long-lived target never collide.
    public let runID: String

    public init(_ context: SuiteContext, runID: String = String(UInt32.random(in: .min ... .max), radix: 36)) {
        self.context = context
        self.runID = runID
    }

    public init(target: LoadTarget, group: any EventLoopGroup) {
        self.init(SuiteContext(target: target, group: group))
    }

    /// `count` users, in index order; reports progress once a second while it works.
    ///
    /// A sign-up whose answer was lost (a timeout, a reset, a 502, 503 or 504) is sent again, and a 409 then means
    /// that the first one made the account: the log-in that follows proves it is this run's (the password is), and
    /// its token names the account's id.
    public func provision(_ count: Int) async throws -> [VirtualUser] {
        let runID = self.runID
        return try await context.forEach(count, label: "provisioning users") { index, session in
            let name = "ts\(runID)u\(index)"
            let email = "\(name)@turnstile.load"
            let password = "pw-\(name)-\(runID)"
            let register = TurnstileAPI.register(email: email, username: name, password: password)
            let signedUp = try await session.call(
                register, expecting: StatusSet(ranges: [201...201, 409...409]), retry: true)
            let token = try await session.call(
                TurnstileAPI.login(email: email, password: password), expecting: 200, as: TurnstileAPI.Token.self,
                retry: true)
            let id =
                signedUp.status == 201
                ? try session.decode(TurnstileAPI.User.self, from: signedUp, of: register).id
                : try TurnstileAPI.userID(inToken: token.accessToken)
            return VirtualUser(index: index, id: id, token: token.accessToken)
        }
    }
}
