import Synchronization
import TurnstileCore

/// A per-user request budget: a token bucket of `burst` requests that refills at `requestsPerSecond`.
///
/// ```swift
/// let limit = try RateLimit(parsing: "500/s")   // or "30000/min"; burst defaults to one second's worth
/// ```
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var requestsPerSecond: Double
    public var burst: Int

    /// Generous: far above what a person or a suite's virtual user sends, low enough that one token cannot take the
    /// whole service for itself.
    public static let `default` = RateLimit(requestsPerSecond: 500, burst: 500)

    /// Sign-ups and logins from one client address: a burst that lets a test harness provision a couple of hundred
    /// accounts at once, then 20 a second, far below what would fill the database or the CPU with password hashes.
    public static let authDefault = RateLimit(requestsPerSecond: 20, burst: 200)

    public init(requestsPerSecond: Double, burst: Int) {
        precondition(requestsPerSecond > 0 && burst >= 1, "a rate limit needs a positive rate and burst")
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    /// Parses `N/s`, `N/min` or `N/h`; the burst is one second's worth, at least one request.
    public init(parsing text: String) throws(RateLimitParseError) {
        let parts = text.split(separator: "/", maxSplits: 1)
        let seconds: Double? =
            switch parts.count == 2 ? String(parts[1]) : "" {
            case "s", "sec", "second": 1
            case "m", "min", "minute": 60
            case "h", "hour": 3_600
            default: nil
            }
        guard let seconds, let count = Int(parts[0]), count > 0 else { throw RateLimitParseError(text: text) }
        let perSecond = Double(count) / seconds
        self.init(requestsPerSecond: perSecond, burst: max(1, Int(perSecond.rounded(.up))))
    }

    public var description: String { "\(requestsPerSecond)/s (burst \(burst))" }
}

public struct RateLimitParseError: Error, CustomStringConvertible {
    let text: String
    public var description: String { "'\(text)' is not a rate: write N/s, N/min or N/h (e.g. 500/s), or off" }
}

/// The buckets of every user (or client address) who sent a request lately, behind one lock: a few arithmetic
/// operations per request.
final class RateLimiter<Key: Hashable & Sendable>: Sendable {
    private struct Bucket {
        var tokens: Double
        var updatedAt: ContinuousClock.Instant
    }

    let limit: RateLimit
    private let buckets = Mutex<[Key: Bucket]>([:])

    init(_ limit: RateLimit) {
        self.limit = limit
    }

    /// Takes one request from `userID`'s budget; returns nil when allowed, or the whole seconds to wait before the
    /// next request would be.
    func admit(_ userID: Key, now: ContinuousClock.Instant = .now) -> Int? {
        let limit = self.limit
        return buckets.withLock { buckets in
            // Bounded memory: when full, forget everyone (each starts again with a full bucket). Registration costs
            // a slow password hash, so nobody can cheaply fill this to reset their own budget.
            if buckets.count >= Limits.rateLimitedUsersMax, buckets[userID] == nil { buckets.removeAll() }
            var bucket = buckets[userID] ?? Bucket(tokens: Double(limit.burst), updatedAt: now)
            let refill = (now - bucket.updatedAt).secondsWithFraction * limit.requestsPerSecond
            bucket.tokens = min(Double(limit.burst), bucket.tokens + refill)
            bucket.updatedAt = now
            defer { buckets[userID] = bucket }
            guard bucket.tokens >= 1 else {
                return max(1, Int(((1 - bucket.tokens) / limit.requestsPerSecond).rounded(.up)))
            }
            bucket.tokens -= 1
            return nil
        }
    }
}
