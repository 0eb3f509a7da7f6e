import NIOCore
import NIOHTTP1
import TurnstileReport

/// Checks that a target's read cache is in the state a comparison assumes: reading the first event page twice, the
/// second answer must say `Turnstile-Cache: hit` when the cache is on, and nothing about a cache when it is off.
public enum CacheProbe {
    public static func check(
        cacheOn: Bool, phase: String, target: LoadTarget, group: any EventLoopGroup,
        timeouts: HTTPClientConnection.Timeouts = .init()
    ) async throws -> InvariantResult {
        let session = APISession(target: target, eventLoop: group.next(), timeouts: timeouts)
        let page = TurnstileAPI.events(page: 1, pageSize: 10)
        _ = try await session.call(page)
        let header = try await session.call(page).headers.first(name: "Turnstile-Cache")
        return InvariantResult(
            phase: phase, rule: cacheOn ? "the read cache answers a repeated read" : "no read cache answers",
            expected: cacheOn ? "hit" : "no Turnstile-Cache header", actual: header ?? "no Turnstile-Cache header",
            passed: cacheOn ? header == "hit" : header == nil)
    }
}
