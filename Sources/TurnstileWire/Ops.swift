/// `GET /health` and `GET /ready`.
public struct StatusResponse: Codable, Sendable, Equatable {
    public let status: String

    public init(status: String) {
        self.status = status
    }
}

/// `GET /`: where to look next.
public struct IndexResponse: Codable, Sendable, Equatable {
    public struct Links: Codable, Sendable, Equatable {
        public let openapi: String
        public let health: String
        public let ready: String
        public let metrics: String
        public let api: String

        public init(
            openapi: String = "/openapi.json", health: String = "/health", ready: String = "/ready",
            metrics: String = "/metrics", api: String = "/api/v1"
        ) {
            self.openapi = openapi
            self.health = health
            self.ready = ready
            self.metrics = metrics
            self.api = api
        }
    }

    public let service: String
    public let links: Links

    public init(service: String = "turnstile", links: Links = Links()) {
        self.service = service
        self.links = links
    }
}
