import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import TurnstileCore

/// Turns every error a route throws into a problem+json response, so no client ever sees an HTML page, an empty
/// 500 or a stack trace. Unexpected errors are logged and answered 500 `internal_error`; a path the service has,
/// asked with another method, is 405 `method_not_allowed` with `Allow`. A request cancelled because its client went
/// away (a reset HTTP/2 stream) is no error of the service's: it is counted in `/metrics` and logged at debug only,
/// so a client that resets streams by the thousand cannot flood the log.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = TurnstileRequestContext

    let metrics: ServiceMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            metrics.requestCancelled()
            context.logger.debug("request cancelled: its client went away", metadata: ["path": "\(request.uri.path)"])
            return try Problem.internalError.response(from: request, context: context)
        } catch {
            guard var problem = Problem(answering: error, path: request.uri.path) else {
                context.logger.error("unexpected error answering \(request.method) \(request.uri.path): \(error)")
                return try Problem.internalError.response(from: request, context: context)
            }
            // HTTP/2 has no `Connection` header (RFC 9113 §8.2.2): a stream answered before its request ended is
            // reset on its own (``HTTP2StreamBudget``), and the connection's other streams go on.
            if context.isHTTP2Stream { problem.closesConnection = false }
            return try problem.response(from: request, context: context)
        }
    }
}

extension Problem {
    /// The problem that answers `error`, thrown while serving `path`; nil for an error nobody expected (a 500).
    init?(answering error: any Error, path: String) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as TurnstileError:
            self.init(error)
        case is NIOTooManyBytesError:
            self = .payloadTooLarge
        case is HTTPParserError:
            // A body that broke off or is not valid HTTP: the client's fault, and its connection is gone anyway.
            self = .unparsableRequest
        case let error as HTTPError where error.status == .notFound:
            let allowed = Endpoint.methods(answering: path)
            self = allowed.isEmpty ? .routeNotFound : .methodNotAllowed(allowed)
        case let error as any HTTPResponseError where (400..<500).contains(error.status.code):
            self.init(
                status: error.status, code: "bad_request", title: error.status.reasonPhrase,
                detail: (error as? HTTPError)?.body ?? "The request was refused: \(error.status.reasonPhrase).")
        default:
            return nil
        }
    }
}
