import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// Estimates how far this machine's clock is from the target's, from the `Date` header of its answers.
///
/// `Date` has whole seconds, so one answer says little; what places the target's clock is the moment its `Date` turns
/// to the next second, which happened between the sending of the last answer of the old second and the arrival of the
/// first of the new. The probe finds that turn coarsely (a request every 20 ms), then waits for the next one a second
/// later and watches it closely (requests back to back, for a few tens of milliseconds around it), which places the
/// target's clock within about one round trip for a few dozen requests. At most
/// ``LoadLimits/clockProbeDuration``; a target that sends no `Date` header gives no estimate, and the report says the
/// clocks were not compared. The offset includes however late the server refreshes its `Date` (Hummingbird's lags
/// by a fraction of a second): that is the same for every shard of a run, and cancels out between them.
enum ClockProbe {
    /// How often the coarse search asks, and how long before and after the predicted turn the close watch lasts.
    static let coarseStep = 0.02
    static let closeWindow = 0.03

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
        /// The target's `Date`, and when it was asked and answered.
        func ask() async -> (second: Date, sent: Date, received: Date)? {
            let sent = Date()
            guard
                let answer = try? await eventLoop.flatSubmit({
                    connection.send(request, timeouts: timeouts, keepBody: false)
                }).get(),
                let header = answer.headers.first(name: "Date"), let second = httpDate(header)
            else { return nil }
            return (second, sent, Date())
        }
        /// Asks every `step` seconds (0: back to back) until the `Date` turns or the deadline `until` gives for the
        /// first answer's arrival; the turn's estimate.
        func turn(step: Double, until: (Date) -> Date) async -> ShardRecord.ClockOffset? {
            var previous = await ask()
            guard let first = previous else { return nil }
            let deadline = until(first.received)
            while let last = previous, Date() < deadline {
                if step > 0 { try? await Task.sleep(for: .seconds(step)) }
                guard let next = await ask() else { return nil }
                if next.second > last.second {
                    // The target's clock read `next.second` at an instant between `last.sent` and `next.received`.
                    let middle = last.sent.timeIntervalSince1970 / 2 + next.received.timeIntervalSince1970 / 2
                    return .init(
                        offset: next.second.timeIntervalSince1970 - middle,
                        uncertainty: next.received.timeIntervalSince(last.sent) / 2)
                }
                previous = next
            }
            return nil
        }
        let began = Date()
        let end = began.addingTimeInterval(LoadLimits.clockProbeDuration)
        // A `Date` turns within a second of any answer: watched for a little longer than that from the first, however
        // long a busy target took to give it.
        guard let coarse = await turn(step: coarseStep, until: { min(end, $0.addingTimeInterval(1.2)) }) else {
            return nil
        }
        // The next turn, by the coarse estimate: watched closely from just before it.
        let next = (Date().timeIntervalSince1970 + coarse.offset).rounded(.up) - coarse.offset
        let from = Date(timeIntervalSince1970: next - coarse.uncertainty - closeWindow)
        if from > Date() { try? await Task.sleep(for: .seconds(from.timeIntervalSinceNow)) }
        let close = await turn(
            step: 0, until: { _ in min(end, Date(timeIntervalSince1970: next + coarse.uncertainty + closeWindow)) })
        guard let close, close.uncertainty < coarse.uncertainty else { return coarse }
        return close
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
