import Foundation
import TurnstileCore

/// How instances sharing a database hear of each other's live changes (a bid accepted on instance A must reach a
/// subscriber on instance B): every batch's changes are sent with `NOTIFY` inside its transaction, so PostgreSQL
/// delivers them only once it commits, and in commit order; every instance `LISTEN`s and publishes the changes of
/// the others to its own subscribers.
struct ChangeNotifications: Sendable {
    static let channel = "turnstile_changes"
    /// PostgreSQL refuses a payload of 8,000 bytes or more; a batch's changes are split below this.
    static let payloadBytesMax = 7_000

    /// This instance's name in its messages, so it can pass over its own.
    let origin = UUID().uuidString

    private struct Message: Codable {
        let origin: String
        let changes: [LiveChange]
    }

    /// The payloads that carry `changes`, in order, each under the limit.
    func payloads(_ changes: [LiveChange]) throws -> [String] {
        var payloads: [String] = []
        var pending: [LiveChange] = []
        for change in changes {
            let candidate = try encode(pending + [change])
            if candidate.utf8.count > Self.payloadBytesMax, !pending.isEmpty {
                payloads.append(try encode(pending))
                pending = [change]
            } else {
                pending.append(change)
            }
        }
        if !pending.isEmpty { payloads.append(try encode(pending)) }
        return payloads
    }

    /// The changes another instance sent; nil for this instance's own, or for a payload that is not one of ours.
    func changes(fromOthers payload: String) -> [LiveChange]? {
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(payload.utf8)),
            message.origin != origin
        else { return nil }
        return message.changes
    }

    private func encode(_ changes: [LiveChange]) throws -> String {
        String(decoding: try JSONEncoder().encode(Message(origin: origin, changes: changes)), as: UTF8.self)
    }
}
