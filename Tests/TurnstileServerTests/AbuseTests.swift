import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import TurnstileCore
import TurnstileTestSupport

@testable import TurnstileServer

/// What an anonymous client can do with nothing but requests: sign up, log in, guess passwords.
@Suite("Abuse of anonymous endpoints")
struct AbuseTests {
    private static let secret = Array(repeating: UInt8(3), count: 32)

    /// Runs `test` against the router of a server with these limits, over a scratch SQLite store.
    private func withRouter(
        authRateLimit: RateLimit?, trustForwardedFor: Bool = false,
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let configuration = ServerConfiguration(
            jwtSecret: Self.secret, passwordHashRounds: 1, authRateLimit: authRateLimit,
            trustForwardedFor: trustForwardedFor)
        try await withScratchStore { store in
            try await Server(configuration: configuration, store: store).application().test(.router, test)
        }
    }

    private func register(
        _ client: some TestClientProtocol, _ name: String, forwardedFor: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let forwardedFor { headers[HTTPField.Name("X-Forwarded-For")!] = forwardedFor }
        let body = #"{"email":"\#(name)@example.com","username":"\#(name)","password":"correct horse"}"#
        return try await client.execute(
            uri: "/api/v1/auth/register", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    private func login(
        _ client: some TestClientProtocol, _ name: String, password: String
    ) async throws
        -> TestResponse
    {
        let body = #"{"email":"\#(name)@example.com","password":"\#(password)"}"#
        return try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: body))
    }

    @Test("sign-ups from one address past its budget get 429 with Retry-After; each account does not get its own")
    func signUpsPerAddress() async throws {
        try await withRouter(authRateLimit: RateLimit(requestsPerSecond: 0.001, burst: 3)) { client in
            var statuses: [HTTPResponse.Status] = []
            for index in 0..<5 { statuses.append(try await register(client, "user\(index)").status) }
            #expect(statuses == [.created, .created, .created, .tooManyRequests, .tooManyRequests])
            let refused = try await login(client, "user0", password: "correct horse")
            #expect(refused.status == .tooManyRequests, "logins share the address's budget")
            #expect(refused.headers[.retryAfter].flatMap { Int($0) } ?? 0 > 0)
        }
    }

    @Test("behind a trusted proxy each forwarded address has its own budget; untrusted, the header changes nothing")
    func forwardedFor() async throws {
        let limit = RateLimit(requestsPerSecond: 0.001, burst: 1)
        try await withRouter(authRateLimit: limit, trustForwardedFor: true) { client in
            let first = try await register(client, "ann1", forwardedFor: "203.0.113.1")
            let again = try await register(client, "ann2", forwardedFor: "203.0.113.1")
            // The proxy appends the address it saw: that last one is the client, whatever the client claimed.
            let other = try await register(client, "bob1", forwardedFor: "203.0.113.1, 198.51.100.7")
            #expect([first.status, again.status, other.status] == [.created, .tooManyRequests, .created])
        }
        try await withRouter(authRateLimit: limit) { client in
            let first = try await register(client, "cat1", forwardedFor: "203.0.113.1")
            let second = try await register(client, "cat2", forwardedFor: "203.0.113.2")
            #expect([first.status, second.status] == [.created, .tooManyRequests])
        }
    }

    @Test("after five wrong passwords an account's logins are refused for a while, even with the right password")
    func failedLogins() async throws {
        try await withRouter(authRateLimit: nil) { client in
            #expect(try await register(client, "kate").status == .created)
            for attempt in 1...6 {
                let wrong = try await login(client, "kate", password: "guess-\(attempt)")
                #expect(wrong.status == .unauthorized, "attempt \(attempt)")
            }
            let locked = try await login(client, "kate", password: "correct horse")
            #expect(locked.status == .tooManyRequests)
            #expect(locked.headers[.retryAfter] == "1")
            #expect(try await register(client, "lee").status == .created)
            #expect(try await login(client, "lee", password: "correct horse").status == .ok, "other accounts log in")
        }
    }

    @Test("each further failure doubles the lockout, up to its maximum; a success clears the record")
    func lockoutGrows() {
        let failures = FailedLogins()
        let start = ContinuousClock.now
        for _ in 0..<Limits.loginFailuresFree { failures.failed("k@x.io", now: start) }
        #expect(failures.wait(for: "k@x.io", now: start) == nil)
        var waits: [Int?] = []
        for _ in 0..<4 {
            failures.failed("k@x.io", now: start)
            waits.append(failures.wait(for: "k@x.io", now: start))
        }
        #expect(waits == [1, 2, 4, 8])
        for _ in 0..<30 { failures.failed("k@x.io", now: start) }
        #expect(failures.wait(for: "k@x.io", now: start) == Limits.loginLockoutSecondsMax)
        #expect(failures.wait(for: "k@x.io", now: start + .seconds(Limits.loginLockoutSecondsMax)) == nil)
        failures.succeeded("k@x.io")
        failures.failed("k@x.io", now: start)
        #expect(failures.wait(for: "k@x.io", now: start) == nil, "a success starts the count afresh")
    }

    @Test("hashes run one per place; a short queue waits; past it, overloaded at once")
    func hashingGate() async throws {
        let gate = HashingGate(concurrency: 1, queuedMax: 1)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let first = Task {
            try await gate.run {
                startedContinuation.yield()
                for await _ in release { break }
                return 1
            }
        }
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        let second = Task { try await gate.run { 2 } }
        while gate.waitingCount < 1 { await Task.yield() }
        await #expect(throws: TurnstileError.overloaded) { try await gate.run { 3 } }
        releaseContinuation.yield()
        releaseContinuation.finish()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
    }
}
