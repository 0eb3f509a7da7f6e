import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport
import TurnstileWire

/// A sequential client for set-up and read-back calls (provisioning users, creating events, reading state back):
/// not measured, so it favours plainness over speed. One keep-alive connection, reopened when needed; use it from
/// one task at a time.
final class APISession {
    private let target: LoadTarget
    private let eventLoop: any EventLoop
    private let timeouts: HTTPClientConnection.Timeouts
    private var connection: HTTPClientConnection?

    init(target: LoadTarget, eventLoop: any EventLoop, timeouts: HTTPClientConnection.Timeouts) {
        self.target = target
        self.eventLoop = eventLoop
        self.timeouts = timeouts
    }

    deinit { connection?.close() }

    /// Sends a request and returns its response, body kept.
    func call(_ request: LoadRequest) async throws -> LoadResponse {
        try await call(request, timeouts: timeouts)
    }

    private func call(_ request: LoadRequest, timeouts: HTTPClientConnection.Timeouts) async throws -> LoadResponse {
        let connection = try await openConnection()
        return try await eventLoop.flatSubmit { connection.send(request, timeouts: timeouts, keepBody: true) }.get()
    }

    /// Sends a request that must answer `expected`, and decodes its JSON body. See ``call(_:expecting:retry:)``.
    func call<Value: Decodable>(
        _ request: LoadRequest, expecting expected: Int, as type: Value.Type, retry: Bool = false
    ) async throws -> Value {
        let response = try await call(request, expecting: StatusSet(ranges: [expected...expected]), retry: retry)
        return try decode(type, from: response, of: request)
    }

    /// Decodes the JSON body `request` was answered with; a body of another shape ends the run, naming the request.
    func decode<Value: Decodable>(
        _ type: Value.Type, from response: LoadResponse, of request: LoadRequest
    ) throws
        -> Value
    {
        do {
            return try WireJSON.decoder.decode(type, from: Data(response.body.readableBytesView))
        } catch {
            throw SetupError("\(request.method) \(request.path) answered JSON of an unexpected shape: \(error)")
        }
    }

    /// Sends a set-up request that must answer one of `expected`. Set-up is not measurement, so it is patient, within
    /// one deadline: every try and every pause between them fit in the session's response timeout (`--setup-timeout`),
    /// so a target that trickles its answers costs that long once, not once per try.
    ///
    /// - a 429 whose `Retry-After` is short is waited out and the request sent again, as a polite client would (a
    ///   target limits sign-ups per address, say), up to ``LoadLimits/setupRateLimitedRetriesMax`` times;
    /// - a request that is safe to send again (`retry`, or a GET, HEAD, PUT or DELETE) is, after an answer that
    ///   says nothing about it (a timeout, a reset, a 502, 503 or 504), up to ``LoadLimits/setupRetriesMax`` times
    ///   with a growing pause.
    ///
    /// A page of HTML where JSON was expected, or any other status, ends the run with a message that says which.
    ///
    /// A `patient` call (a read-back after faults, while the target may still be recovering) also tries again after
    /// a refused connection, and as often as the deadline allows, pausing at most ``LoadLimits/setupRetryPauseMax``.
    func call(
        _ request: LoadRequest, expecting expected: StatusSet, retry: Bool = false, patient: Bool = false
    ) async throws
        -> LoadResponse
    {
        let mayRetry = retry || [.GET, .HEAD, .PUT, .DELETE].contains(request.method)
        let retriesMax = patient ? Int.max : LoadLimits.setupRetriesMax
        let retriedKinds: [LoadError.Kind] = patient ? [.timeout, .reset, .connect] : [.timeout, .reset]
        func pause(_ retries: Int) -> TimeAmount {
            min(TimeAmount(LoadLimits.setupRetryPause * retries), TimeAmount(LoadLimits.setupRetryPauseMax))
        }
        let deadline = NIODeadline.now() + timeouts.response
        var rateLimitedRetries = 0
        var retries = 0
        /// Whether a pause of `pause` still leaves time for another try; it is taken if so.
        func paused(_ pause: TimeAmount) async throws -> Bool {
            guard NIODeadline.now() + pause < deadline else { return false }
            try await Task.sleep(for: .nanoseconds(pause.nanoseconds))
            return true
        }
        while true {
            var attempt = timeouts
            attempt.response = min(timeouts.response, deadline - .now())
            attempt.read = min(attempt.read, attempt.response)
            let response: LoadResponse
            do {
                response = try await call(request, timeouts: attempt)
            } catch let failure as LoadError
                where (mayRetry || failure.kind == .connect) && retries < retriesMax
                && retriedKinds.contains(failure.kind)
            {
                // No answer says nothing about the request: it is safe to send again, so it is, while time is left.
                // A target that answered wrongly (a protocol error, an answer too large) is not asked again.
                retries += 1
                guard try await paused(pause(retries)) else { throw failure }
                continue
            }
            if response.status == 429, !expected.contains(429),
                rateLimitedRetries < LoadLimits.setupRateLimitedRetriesMax,
                let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init),
                seconds <= LoadLimits.setupRetryAfterSecondsMax, try await paused(.seconds(Int64(max(1, seconds))))
            {
                rateLimitedRetries += 1
                continue
            }
            if [502, 503, 504].contains(response.status), !expected.contains(response.status), mayRetry,
                retries < retriesMax
            {
                retries += 1
                if try await paused(pause(retries)) { continue }
            }
            try check(response, of: request, expected: expected)
            return response
        }
    }

    private func check(_ response: LoadResponse, of request: LoadRequest, expected: StatusSet) throws {
        if response.status == 429, !expected.contains(429) {
            throw SetupError(
                "\(request.method) \(request.path) was rate-limited (429) during set-up: the target limits requests "
                    + "per client address; for a load test, start it with a higher limit (turnstile serve "
                    + "--auth-rate-limit off)")
        }
        let body = Data(response.body.readableBytesView)
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        if contentType.contains("html")
            || body.first(where: { !Character(UnicodeScalar($0)).isWhitespace }) == UInt8(ascii: "<")
        {
            throw SetupError(
                "\(request.method) \(target.description)\(request.path) answered an HTML page (\(response.status)) "
                    + "where an API answers JSON: is \(target) the API under test, and its path right? To load a page "
                    + "rather than an API, use `turnstile stress url`")
        }
        guard expected.contains(response.status) else {
            throw SetupError(
                "\(request.method) \(request.path) answered \(response.status), expected \(expected): "
                    + String(decoding: body.prefix(300), as: UTF8.self))
        }
    }

    private func openConnection() async throws -> HTTPClientConnection {
        if let connection, try await eventLoop.submit({ connection.isReusable }).get() { return connection }
        connection?.close()
        let opened = try await HTTPClientConnection.connect(to: target, on: eventLoop, timeouts: timeouts).get()
        connection = opened
        return opened
    }
}

/// The run could not be set up: the target refused or could not be reached. Ends the run with exit code 3.
public struct SetupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
