import Hummingbird
import TurnstileCore

/// The plain HTTP side of the live feeds `GET /api/v1/items/{id}/live` and `GET /api/v1/events/{id}/live`.
///
/// A WebSocket upgrade for an existing feed never reaches the router (``LiveHTTPChannel`` takes it). Every other
/// request for a feed lands here: 404 for an unknown item or event (so unknown ids are refused before any upgrade),
/// 426 with a problem for a plain request to an existing feed.
struct LiveRoutes {
    let feeds: LiveFeeds

    func register(on routes: EndpointRoutes) {
        routes.on(.itemFeed) { request, context -> Response in
            try await feeds.requireExisting(.item(try request.pathID("id", context: context)))
            throw Problem.upgradeRequired
        }
        routes.on(.eventFeed) { request, context -> Response in
            try await feeds.requireExisting(.event(try request.pathID("id", context: context)))
            throw Problem.upgradeRequired
        }
    }
}
