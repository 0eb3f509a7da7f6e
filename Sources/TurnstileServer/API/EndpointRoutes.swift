import Hummingbird

/// Where handlers are registered: each through its ``Endpoint``, at its path and method, on the group whose
/// middleware its ``Endpoint/Access`` calls for. No route is registered any other way, so the router, the OpenAPI
/// document and `Allow` cannot disagree on what exists.
struct EndpointRoutes {
    private let groups: [Endpoint.Access: RouterGroup<TurnstileRequestContext>]

    init(_ groups: [Endpoint.Access: RouterGroup<TurnstileRequestContext>]) {
        self.groups = groups
    }

    /// Registers `handler` as `endpoint`'s.
    func on(
        _ endpoint: Endpoint,
        use handler: @escaping @Sendable (Request, TurnstileRequestContext) async throws -> some ResponseGenerator
    ) {
        guard let group = groups[endpoint.access] else {
            preconditionFailure("no route group for \(endpoint.access) (\(endpoint.id))")
        }
        group.on(RouterPath(endpoint.routerPath), method: endpoint.method, use: handler)
    }
}
