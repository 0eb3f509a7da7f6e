import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TurnstileCore
import TurnstileSQLite
import TurnstileStore
import TurnstileTestSupport

@testable import TurnstileServer

/// Tokens, ownership and rate limits, through the routes.
@Suite("Security")
struct SecurityTests {
    private static let secret = Array(repeating: UInt8(9), count: 32)

    private func application(store: some TurnstileStore, rateLimit: RateLimit? = .default) -> some ApplicationProtocol {
        let configuration = ServerConfiguration(
            jwtSecret: Self.secret, passwordHashRounds: 1, rateLimit: rateLimit)
        return Server(configuration: configuration, store: store).application()
    }

    /// Runs `test` against the router of a server over a scratch SQLite store.
    private func withRouter(
        rateLimit: RateLimit? = .default, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withScratchStore { store in
            try await application(store: store, rateLimit: rateLimit).test(.router, test)
        }
    }

    private func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    private func object(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// Registers and logs in `name`; returns JSON headers carrying their bearer token.
    private func user(_ client: some TestClientProtocol, _ name: String) async throws -> HTTPFields {
        let credentials = ["email": "\(name)@example.com", "password": "correct horse"]
        var headers: HTTPFields = [.contentType: "application/json"]
        _ = try await client.execute(
            uri: "/api/v1/auth/register", method: .post, headers: headers,
            body: json(credentials.merging(["username": name]) { $1 }))
        let login = try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: headers, body: json(credentials))
        headers[.authorization] = "Bearer \(try #require(object(login)["access_token"] as? String))"
        return headers
    }

    enum BadToken: String, CaseIterable, Sendable {
        case badSignature, expired, algNone, malformed, notBearer, otherDatabase
        case issuedInTheFuture, validFromTheFuture, livesTooLong, noSuchAccount
    }

    /// A token with `claims`, signed with the service's own secret: what someone holding the secret could make.
    private static func signed(_ claims: String) -> String {
        let signingInput =
            Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(Data(claims.utf8))
        let signature = HMAC<SHA256>.authenticationCode(
            for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return signingInput + "." + Base64URL.encode(Data(signature))
    }

    @Test(
        "bad, expired, unsigned, malformed, foreign, future, over-long or accountless tokens: 401",
        arguments: BadToken.allCases)
    func badTokens(_ kind: BadToken) async throws {
        try await withScratchStore { store in
            try await application(store: store).test(.router) { client in
                _ = try await user(client, "ada")
                let header: String
                switch kind {
                case .badSignature:
                    let forged = TokenAuthority(secret: Array(repeating: 1, count: 32), audience: store.identity)
                    header = "Bearer \(forged.issue(userID: 1).token)"
                case .expired:
                    let past = TokenAuthority(
                        secret: Self.secret, audience: store.identity, lifetimeSeconds: 60,
                        clock: { Date(timeIntervalSinceNow: -120) })
                    header = "Bearer \(past.issue(userID: 1).token)"
                case .algNone:
                    let claims = #"{"sub":"1","aud":"\#(store.identity)","iat":1,"exp":99999999999}"#
                    header =
                        "Bearer \(Base64URL.encode(Data(#"{"alg":"none"}"#.utf8))).\(Base64URL.encode(Data(claims.utf8))))."
                case .malformed: header = "Bearer not-a-token"
                case .notBearer: header = "Basic YWRhOmNvcnJlY3QgaG9yc2U="
                case .otherDatabase:
                    let other = TokenAuthority(secret: Self.secret, audience: "another-database")
                    header = "Bearer \(other.issue(userID: 1).token)"
                case .issuedInTheFuture:
                    let ahead = TokenAuthority(
                        secret: Self.secret, audience: store.identity, clock: { Date(timeIntervalSinceNow: 600) })
                    header = "Bearer \(ahead.issue(userID: 1).token)"
                case .validFromTheFuture:
                    let now = Int64(Date().timeIntervalSince1970)
                    header =
                        "Bearer "
                        + Self.signed(
                            #"{"sub":"1","aud":"\#(store.identity)","iat":\#(now),"nbf":\#(now + 600),"exp":\#(now + 900)}"#
                        )
                case .livesTooLong:
                    let forever = TokenAuthority(
                        secret: Self.secret, audience: store.identity, lifetimeSeconds: 10 * 365 * 86_400)
                    header = "Bearer \(forever.issue(userID: 1).token)"
                case .noSuchAccount:
                    // Signed right, for an account that was never made: refused on reads as well as writes.
                    let authority = TokenAuthority(secret: Self.secret, audience: store.identity)
                    header = "Bearer \(authority.issue(userID: 999).token)"
                }
                let response = try await client.execute(
                    uri: "/api/v1/credits/balance", method: .get, headers: [.authorization: header])
                #expect(response.status == .unauthorized)
                #expect(object(response)["code"] as? String == "unauthorized")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test("another user's order, hold and ledger are not found, and lists hold only one's own")
    func ownership() async throws {
        try await withRouter { client in
            let ada = try await user(client, "ada")
            let bob = try await user(client, "bob")
            let product = try await client.execute(
                uri: "/api/v1/products/", method: .post, headers: ada,
                body: json(["sku": "LAMP-1", "name": "Lamp", "price_cents": 100, "stock": 5]))
            let order = try await client.execute(
                uri: "/api/v1/orders/", method: .post, headers: ada,
                body: json(["product_id": try #require(object(product)["id"] as? Int), "quantity": 1]))
            let orderID = try #require(object(order)["id"] as? Int)
            for action in ["pay", "cancel"] {
                let stolen = try await client.execute(
                    uri: "/api/v1/orders/\(orderID)/\(action)", method: .post, headers: bob)
                #expect(stolen.status == .notFound)
            }
            let event = try await client.execute(
                uri: "/api/v1/events/", method: .post, headers: ada,
                body: json(["title": "Gig", "date": "2026-12-31T20:00:00Z", "seat_count": 5]))
            let hold = try await client.execute(
                uri: "/api/v1/bookings/", method: .post, headers: ada,
                body: json(["event_id": try #require(object(event)["id"] as? Int), "seat_count": 1, "hold_seconds": 60])
            )
            let holdID = try #require(object(hold)["id"] as? Int)
            let confirmed = try await client.execute(
                uri: "/api/v1/bookings/\(holdID)/confirm", method: .post, headers: bob)
            #expect(confirmed.status == .notFound)
            _ = try await client.execute(
                uri: "/api/v1/credits/topup", method: .post, headers: ada, body: json(["amount": 50]))
            let bobsLedger = try await client.execute(uri: "/api/v1/credits/transactions", method: .get, headers: bob)
            #expect((object(bobsLedger)["transactions"] as? [Any])?.isEmpty == true)
            let bobsOrders = try await client.execute(uri: "/api/v1/orders/", method: .get, headers: bob)
            #expect((object(bobsOrders)["orders"] as? [Any])?.isEmpty == true)
            let adasOrders = try await client.execute(uri: "/api/v1/orders/", method: .get, headers: ada)
            #expect((object(adasOrders)["orders"] as? [Any])?.count == 1)
        }
    }

    @Test("past their budget, a user gets 429 rate_limited with Retry-After; others are unaffected")
    func rateLimited() async throws {
        // One request per 1,000 s after a burst of three: however slow the machine, no token comes back meanwhile.
        try await withRouter(rateLimit: RateLimit(requestsPerSecond: 0.001, burst: 3)) { client in
            let ada = try await user(client, "ada")
            let bob = try await user(client, "bob")
            var statuses: [HTTPResponse.Status] = []
            var last: TestResponse?
            for _ in 0..<5 {
                let response = try await client.execute(uri: "/api/v1/credits/balance", method: .get, headers: ada)
                statuses.append(response.status)
                last = response
            }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests, .tooManyRequests])
            let refused = try #require(last)
            #expect(object(refused)["code"] as? String == "rate_limited")
            // A whole token is 1,000 s away, less whatever the test's own requests took.
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((900...1_000).contains(retryAfter))
            let others = try await client.execute(uri: "/api/v1/credits/balance", method: .get, headers: bob)
            #expect(others.status == .ok)
            // Public reads carry no user and spend no budget.
            let events = try await client.execute(uri: "/api/v1/events/", method: .get)
            #expect(events.status == .ok)
        }
    }

    @Test("with the rate limit off, nobody is throttled")
    func rateLimitOff() async throws {
        try await withRouter(rateLimit: nil) { client in
            let ada = try await user(client, "ada")
            for _ in 0..<20 {
                let response = try await client.execute(uri: "/api/v1/credits/balance", method: .get, headers: ada)
                #expect(response.status == .ok)
            }
        }
    }

    @Test("a bucket refills at its rate, up to its burst")
    func bucketRefills() {
        let limiter = RateLimiter<Int64>(RateLimit(requestsPerSecond: 2, burst: 2))
        let start = ContinuousClock.now
        #expect(limiter.admit(7, now: start) == nil)
        #expect(limiter.admit(7, now: start) == nil)
        #expect(limiter.admit(7, now: start) == 1)
        #expect(limiter.admit(7, now: start + .milliseconds(500)) == nil)
        #expect(limiter.admit(7, now: start + .milliseconds(500)) == 1)
        // Ten idle seconds refill only up to the burst.
        #expect(limiter.admit(7, now: start + .seconds(10)) == nil)
        #expect(limiter.admit(7, now: start + .seconds(10)) == nil)
        #expect(limiter.admit(7, now: start + .seconds(10)) == 1)
    }

    @Test("rates parse as N/s, N/min and N/h", arguments: [("500/s", 500.0, 500), ("60/min", 1, 1), ("7200/h", 2, 2)])
    func rateParsing(_ text: String, _ perSecond: Double, _ burst: Int) throws {
        #expect(try RateLimit(parsing: text) == RateLimit(requestsPerSecond: perSecond, burst: burst))
    }

    @Test("nonsense rates are refused", arguments: ["", "500", "0/s", "-1/s", "5/fortnight", "x/s"])
    func badRates(_ text: String) {
        #expect(throws: RateLimitParseError.self) { try RateLimit(parsing: text) }
    }
}
