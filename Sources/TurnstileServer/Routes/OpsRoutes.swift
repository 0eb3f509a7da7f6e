import Hummingbird
import TurnstileCore
import TurnstileStore

/// `GET /health` (the process answers; touches no store) and `GET /ready` (the store answers too).
struct OpsRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on router: Router<TurnstileRequestContext>) {
        router.get("health") { _, _ in StatusResponse(status: "ok") }
        router.get("ready") { _, _ in
            try await store.checkReachable()
            return StatusResponse(status: "ready")
        }
    }
}
