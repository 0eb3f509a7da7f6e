import Hummingbird
import TurnstileCore

/// Counts and times every request the router answers, by route template, method and status (see
/// ``ServiceMetrics``). It sits inside ``ProblemMiddleware``, so it sees the error a route threw and counts the
/// status of the problem that will answer it.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let metrics: ServiceMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        let status: Int
        defer {
            metrics.request(
                route: context.endpointPath ?? "NotFound", method: request.method.rawValue, status: status,
                duration: ContinuousClock.now - started)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch {
            status = Problem(answering: error, path: request.uri.path)?.status.code ?? 500
            if case .storeUnavailable = error as? TurnstileError { metrics.storeUnavailable() }
            throw error
        }
    }
}
