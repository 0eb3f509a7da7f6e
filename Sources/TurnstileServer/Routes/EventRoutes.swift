import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// `GET /events/`, `GET /events/{id}` (public, through the read cache) and `POST /events/` (authenticated).
struct EventRoutes<Store: TurnstileStore> {
    let store: Store
    /// The read cache, or nil when it is turned off.
    let cache: EventReadCache?

    func register(on routes: EndpointRoutes) {
        routes.on(.listEvents) { request, _ in
            let page = try PageRequest(page: request.queryInt("page"), pageSize: request.queryInt("page_size"))
            return try await cached(.page(page: page.page, pageSize: page.pageSize)) {
                PageResponse(try await store.events(page), EventResponse.init)
            }
        }
        routes.on(.getEvent) { request, context in
            let id = try request.pathID("id", context: context)
            return try await cached(.detail(id)) {
                guard let event = try await store.event(id: id) else {
                    throw TurnstileError.notFound(entity: "event", id: id)
                }
                return EventResponse(event)
            }
        }
        routes.on(.createEvent) { request, context in
            let organizerID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewEventBody.self, context: context)
            let event = try NewEvent(
                title: body.title, description: body.description, date: body.date, location: body.location,
                seatCount: body.seatCount, seatsPerUserMax: body.seatsPerUserMax)
            let created = try await store.createEvent(event, organizerID: organizerID)
            return EditedResponse(status: .created, response: EventResponse(created))
        }
    }

    /// Answers from the cache when it holds `key`; otherwise produces the answer, encodes it once and keeps it.
    /// Every answer says `Turnstile-Cache: hit` or `miss` (or nothing when the cache is off).
    private func cached(
        _ key: EventReadCache.Key, _ produce: () async throws -> some Encodable
    ) async throws -> Response {
        let lookup = cache?.lookUp(key)
        if let body = lookup?.body { return Self.json(body, cacheHeader: "hit") }
        let body = ByteBuffer(bytes: try JSONCoding.encoder.encode(try await produce()))
        if let cache, let lookup { cache.store(body, for: key, readAt: lookup.generation) }
        return Self.json(body, cacheHeader: cache == nil ? nil : "miss")
    }

    private static func json(_ body: ByteBuffer, cacheHeader: String?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let cacheHeader { headers[.turnstileCache] = cacheHeader }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

extension HTTPField.Name {
    /// Whether an event read was answered from the read cache.
    static let turnstileCache = HTTPField.Name("Turnstile-Cache")!
}
