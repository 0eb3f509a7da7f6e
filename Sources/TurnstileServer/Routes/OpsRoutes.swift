import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// `GET /` (an index of what follows), `GET /health` (the process answers; touches no store), `GET /ready` (the store answers too), `GET /metrics`
/// (Prometheus's text format, see ``ServiceMetrics``), `GET /openapi.json` (see ``OpenAPIDocument``) and
/// `GET /api/v1/summary` (counts across products and orders).
struct OpsRoutes<Store: TurnstileStore> {
    let store: Store
    let metrics: ServiceMetrics

    func register(on routes: EndpointRoutes) {
        routes.on(.index) { _, _ in IndexResponse() }
        routes.on(.metrics) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        // Every answer shares one buffer of the document: a client asking for it a thousand times over (and never
        // reading, say) costs no copy of it.
        let document = ByteBuffer(bytes: OpenAPIDocument.json)
        routes.on(.openAPI) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: document))
        }
        routes.on(.health) { _, _ in StatusResponse(status: "ok") }
        routes.on(.ready) { _, _ in
            try await store.checkReachable()
            return StatusResponse(status: "ready")
        }
        routes.on(.summary) { _, _ in SummaryResponse(try await store.stockSummary()) }
    }
}
