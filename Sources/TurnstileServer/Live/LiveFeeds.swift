import TurnstileCore
import TurnstileStore

/// The live feeds' front door: which paths name a feed, whether its item or event exists, and the hub that serves
/// them. Both the WebSocket upgrade and the plain HTTP route for a feed ask it, so they cannot disagree.
struct LiveFeeds: Sendable {
    let hub: LiveHub
    private let exists: @Sendable (LiveTopic) async throws -> Bool

    init<Store: TurnstileStore>(store: Store, hub: LiveHub) {
        self.hub = hub
        exists = { topic in
            switch topic {
            case .item(let id): try await store.item(id: id) != nil
            case .event(let id): try await store.event(id: id) != nil
            }
        }
    }

    /// The feed `/api/v1/items/{id}/live` or `/api/v1/events/{id}/live` names (a query is ignored), or nil for any
    /// other path or an id that is not a positive integer.
    static func topic(path: String) -> LiveTopic? {
        let segments = path.prefix { $0 != "?" }.split(separator: "/")
        guard segments.count == 5, segments[0] == "api", segments[1] == "v1", segments[4] == "live",
            let id = Int64(segments[3]), id > 0
        else { return nil }
        switch segments[2] {
        case "items": return .item(id)
        case "events": return .event(id)
        default: return nil
        }
    }

    /// Throws `not_found` unless the feed's item or event exists.
    func requireExisting(_ topic: LiveTopic) async throws {
        guard try await exists(topic) else {
            switch topic {
            case .item(let id): throw TurnstileError.notFound(entity: "item", id: id)
            case .event(let id): throw TurnstileError.notFound(entity: "event", id: id)
            }
        }
    }

    /// A subscriber let in: the feed it joins, and the hub's ticket to join it with.
    struct Admission: Sendable {
        let topic: LiveTopic
        let ticket: LiveHub.Ticket
    }

    /// The feed a WebSocket upgrade for `path` may join, or the problem that refuses it: 404 for an unknown item or
    /// event, the store's own problem (a 503, say) when it cannot tell, and 503 while this instance does not hear
    /// every change (a PostgreSQL instance that is not listening yet). Only feed paths are asked (see
    /// ``LiveHTTPChannel``); any other is a 404 too.
    func admit(path: String) async -> Result<Admission, Problem> {
        guard let topic = Self.topic(path: path) else { return .failure(.routeNotFound) }
        guard let ticket = hub.ticket() else {
            return .failure(
                Problem(
                    TurnstileError.storeUnavailable(
                        detail: "this instance does not hear the other instances' changes yet; retry shortly.")))
        }
        do {
            try await requireExisting(topic)
            return .success(Admission(topic: topic, ticket: ticket))
        } catch let error as TurnstileError {
            return .failure(Problem(error))
        } catch {
            return .failure(.internalError)
        }
    }
}
