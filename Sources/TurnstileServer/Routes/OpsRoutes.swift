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

    func register(on router: Router<TurnstileRequestContext>) {
        router.get("/") { _, _ in IndexResponse() }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        // Every answer shares one buffer of the document: a client asking for it a thousand times over (and never
        // reading, say) costs no copy of it.
        let document = ByteBuffer(bytes: OpenAPIDocument.json)
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: document))
        }
        router.get("health") { _, _ in StatusResponse(status: "ok") }
        router.get("ready") { _, _ in
            try await store.checkReachable()
            return StatusResponse(status: "ready")
        }
        router.get("api/v1/summary") { _, _ in SummaryResponse(try await store.stockSummary()) }
    }
}
