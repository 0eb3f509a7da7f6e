import Synchronization
import TurnstileCore

/// Failed logins per account, so that guessing one account's password gets slower with every wrong guess, from
/// however many addresses it comes.
///
/// The first ``Limits/loginFailuresFree`` failures cost nothing; after each further one the account refuses logins
/// for twice as long as after the one before (1 s, 2 s, 4 s, … up to ``Limits/loginLockoutSecondsMax``), answering
/// 429 with `Retry-After` without looking at the password, so a lockout cannot be used to keep testing guesses. A
/// successful login clears the account's record. Bounded: emptied when it tracks ``Limits/loginFailuresTrackedMax``
/// accounts.
final class FailedLogins: Sendable {
    private struct Record {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
    }

    private let records = Mutex<[String: Record]>([:])

    /// Whole seconds `email` must wait before its next login attempt, or nil when it may try now.
    func wait(for email: String, now: ContinuousClock.Instant = .now) -> Int? {
        records.withLock { records in
            guard let lockedUntil = records[email]?.lockedUntil, lockedUntil > now else { return nil }
            return max(1, Int((lockedUntil - now).secondsWithFraction.rounded(.up)))
        }
    }

    /// Records a wrong password for `email`.
    func failed(_ email: String, now: ContinuousClock.Instant = .now) {
        records.withLock { records in
            if records.count >= Limits.loginFailuresTrackedMax, records[email] == nil { records.removeAll() }
            var record = records[email] ?? Record()
            record.failures += 1
            let over = record.failures - Limits.loginFailuresFree
            if over > 0 {
                let seconds = min(Limits.loginLockoutSecondsMax, 1 << min(over - 1, 20))
                record.lockedUntil = now + .seconds(seconds)
            }
            records[email] = record
        }
    }

    /// Clears `email`'s record after a successful login.
    func succeeded(_ email: String) {
        _ = records.withLock { $0.removeValue(forKey: email) }
    }
}
