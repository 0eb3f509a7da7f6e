import Hummingbird
import Logging
import NIOCore
import TurnstileCore

/// Turns every error a route throws into a problem+json response, so no client ever sees an HTML page, an empty
/// 500 or a stack trace. Unexpected errors are logged and answered 500 `internal_error`.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try problem(for: error, request: request, context: context)
                .response(from: request, context: context)
        }
    }

    private func problem(for error: any Error, request: Request, context: Context) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as TurnstileError:
            return Problem(error)
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as HTTPError where error.status == .notFound:
            return .routeNotFound(request.uri.path)
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            return Problem(
                status: error.status, code: "bad_request", title: error.status.reasonPhrase,
                detail: (error as? HTTPError)?.body ?? "The request was refused: \(error.status.reasonPhrase).")
        default:
            context.logger.error("unexpected error answering \(request.method) \(request.uri.path): \(error)")
            return .internalError
        }
    }
}
