import Foundation
import NIOCore
import NIOHTTP1

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
        let connection = try await openConnection()
        let timeouts = self.timeouts
        return try await eventLoop.flatSubmit { connection.send(request, timeouts: timeouts, keepBody: true) }.get()
    }

    /// Sends a request that must answer `expected`, and decodes its JSON body. Set-up is not measurement: a 429
    /// whose `Retry-After` is short is waited out and the request sent again, as a polite client would (a target
    /// limits sign-ups per address, say), up to ``LoadLimits/setupRateLimitedRetriesMax`` times.
    func call<Value: Decodable>(
        _ request: LoadRequest, expecting expected: Int, as type: Value.Type
    ) async throws
        -> Value
    {
        var response = try await call(request)
        var retries = 0
        while response.status == 429, expected != 429, retries < LoadLimits.setupRateLimitedRetriesMax,
            let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init),
            seconds <= LoadLimits.setupRetryAfterSecondsMax
        {
            retries += 1
            try await Task.sleep(for: .seconds(max(1, seconds)))
            response = try await call(request)
        }
        if response.status == 429 {
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
                "\(request.method) \(target.description)\(request.path) answered an HTML page (\(response.status)) where "
                    + "Turnstile's API answers JSON: is \(target) a Turnstile service? For another API use "
                    + "`turnstile stress url`")
        }
        guard response.status == expected else {
            throw SetupError(
                "\(request.method) \(request.path) answered \(response.status), expected \(expected): "
                    + String(decoding: body.prefix(300), as: UTF8.self))
        }
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw SetupError("\(request.method) \(request.path) answered JSON of an unexpected shape: \(error)")
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
