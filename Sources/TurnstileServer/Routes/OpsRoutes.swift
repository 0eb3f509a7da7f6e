import Hummingbird
import TurnstileCore
import TurnstileStore

/// `GET /health` (the process answers; touches no store), `GET /ready` (the store answers too) and
/// `GET /api/v1/summary` (counts across products and orders).
struct OpsRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on router: Router<TurnstileRequestContext>) {
        router.get("health") { _, _ in StatusResponse(status: "ok") }
        router.get("ready") { _, _ in
            try await store.checkReachable()
            return StatusResponse(status: "ready")
        }
        router.get("api/v1/summary") { _, _ in SummaryResponse(try await store.stockSummary()) }
    }
}
