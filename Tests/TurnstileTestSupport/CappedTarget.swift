import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// A target with a known capacity: `GET /work` takes 20 ms while at most `capacity` are in progress, and answers 503
/// at once past that; `GET /look` always answers 200 at once. A closed loop of N users never has more than N in
/// progress, so a ramp breaks exactly at its first stage past the capacity.
public struct CappedTarget: Sendable {
    public let port: Int

    public static func with<Result: Sendable>(
        capacity: Int, _ body: @Sendable (CappedTarget) async throws -> Result
    ) async throws -> Result {
        let inProgress = Mutex(0)
        let router = Router()
        router.get("work") { _, _ -> Response in
            let admitted = inProgress.withLock { count in
                guard count < capacity else { return false }
                count += 1
                return true
            }
            guard admitted else { return try ImitationTarget.json(["error": "busy"], status: .serviceUnavailable) }
            defer { inProgress.withLock { $0 -= 1 } }
            try await Task.sleep(for: .milliseconds(20))
            return try ImitationTarget.json(["done": true])
        }
        router.get("look") { _, _ in try ImitationTarget.json(["ok": true]) }
        return try await ImitationTarget.serve(router, label: "capped-target") { port in
            try await body(CappedTarget(port: port))
        }
    }
}
