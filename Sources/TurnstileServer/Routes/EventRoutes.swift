import Hummingbird
import TurnstileCore
import TurnstileStore

/// `GET /events/`, `GET /events/{id}` (public) and `POST /events/` (authenticated).
struct EventRoutes<Store: TurnstileStore> {
    let store: Store

    func register(public group: RouterGroup<TurnstileRequestContext>, authenticated: RouterGroup<TurnstileRequestContext>) {
        group.get { request, _ in
            let page = try PageRequest(page: request.queryInt("page"), pageSize: request.queryInt("page_size"))
            return EventPageResponse(try await store.events(page))
        }
        group.get(":id") { request, context in
            let id = try request.pathID("id", context: context)
            guard let event = try await store.event(id: id) else { throw TurnstileError.notFound(entity: "event", id: id) }
            return EventResponse(event)
        }
        authenticated.post { request, context in
            let organizerID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewEventBody.self)
            let event = try NewEvent(
                title: body.title, description: body.description, date: body.date, location: body.location,
                seatCount: body.seatCount)
            return EditedResponse(
                status: .created, response: EventResponse(try await store.createEvent(event, organizerID: organizerID)))
        }
    }
}
