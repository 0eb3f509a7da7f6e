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

    private struct Message: Decodable {
        let origin: String
        let changes: [LiveChange]
    }

    /// The payloads that carry `changes`, in order, each under the limit. Each change is encoded once; a payload
    /// is the envelope around as many encoded changes as fit.
    func payloads(_ changes: [LiveChange]) throws -> [String] {
        let encoder = JSONEncoder()
        let head = #"{"origin":"\#(origin)","changes":["#
        let tail = "]}"
        var payloads: [String] = []
        var pending: [String] = []
        var size = head.utf8.count + tail.utf8.count
        for change in changes {
            let encoded = String(decoding: try encoder.encode(change), as: UTF8.self)
            let added = encoded.utf8.count + (pending.isEmpty ? 0 : 1)
            if !pending.isEmpty, size + added > Self.payloadBytesMax {
                payloads.append(head + pending.joined(separator: ",") + tail)
                pending = []
                size = head.utf8.count + tail.utf8.count
            }
            size += encoded.utf8.count + (pending.isEmpty ? 0 : 1)
            pending.append(encoded)
        }
        if !pending.isEmpty { payloads.append(head + pending.joined(separator: ",") + tail) }
        return payloads
    }

    /// The changes another instance sent; nil for this instance's own, or for a payload that is not one of ours.
    func changes(fromOthers payload: String) -> [LiveChange]? {
        guard let message = try? JSONDecoder().decode(Message.self, from: Data(payload.utf8)),
            message.origin != origin
        else { return nil }
        return message.changes
    }
}
