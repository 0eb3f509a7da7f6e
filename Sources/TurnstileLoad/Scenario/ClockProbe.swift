import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// Estimates how far this machine's clock is from the target's, from the `Date` header of its answers.
///
/// `Date` has whole seconds, so one answer says little; the probe asks back to back, on one connection, until the
/// header's second changes between two answers. The target's clock read S at some instant between the earlier
/// request's sending and the later answer's arrival: the offset is S minus the middle of that window, within half
/// of it (about a round trip). At most ``LoadLimits/clockProbeDuration`` of asking; a target that sends no `Date`
/// header (or the same second throughout) gives no estimate, and the report says the clocks were not compared.
enum ClockProbe {
    static func measure(_ context: SuiteContext) async -> ShardRecord.ClockOffset? {
        let eventLoop = context.group.next()
        let timeouts = context.setupTimeouts
        guard
            let connection = try? await HTTPClientConnection.connect(
                to: context.target, on: eventLoop, timeouts: timeouts
            ).get()
        else { return nil }
        defer { connection.close() }
        let request = LoadRequest(endpoint: "clock", method: .GET, path: "/", isSentOnce: false)
        let began = Date()
        var previous: (second: Date, sent: Date)?
        while Date().timeIntervalSince(began) < LoadLimits.clockProbeDuration {
            let sent = Date()
            guard
                let answer = try? await eventLoop.flatSubmit({
                    connection.send(request, timeouts: timeouts, keepBody: false)
                }).get(),
                let header = answer.headers.first(name: "Date"), let second = Self.httpDate(header)
            else { return nil }
            let received = Date()
            if let previous, second > previous.second {
                // The target's clock passed `second` between `previous.sent` and `received`.
                let middle = previous.sent.timeIntervalSince1970 / 2 + received.timeIntervalSince1970 / 2
                return .init(
                    offset: second.timeIntervalSince1970 - middle,
                    uncertainty: received.timeIntervalSince(previous.sent) / 2)
            }
            previous = (second, sent)
        }
        return nil
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as every HTTP server writes `Date`.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
