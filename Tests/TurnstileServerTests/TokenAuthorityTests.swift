import Foundation
import Synchronization
import Testing
import TurnstileCore

@testable import TurnstileServer

@Suite("TokenAuthority")
struct TokenAuthorityTests {
    private let secret = Array("a-test-secret-of-at-least-32-bytes!!".utf8)
    private let now = Date(timeIntervalSince1970: 1_900_000_000)

    private func authority(at date: Date) -> TokenAuthority {
        TokenAuthority(secret: secret, audience: "db-1", lifetimeSeconds: 60, clock: { date })
    }

    @Test("an issued token verifies to its user until it expires")
    func roundTrip() throws {
        let (token, expiresIn) = authority(at: now).issue(userID: 42)
        #expect(expiresIn == 60)
        #expect(try authority(at: now.addingTimeInterval(59)).verify(token) == 42)
        #expect(throws: TurnstileError.unauthorized(detail: "The access token has expired; log in again.")) {
            try authority(at: now.addingTimeInterval(60)).verify(token)
        }
    }

    @Test("a token signed with another secret is refused")
    func forged() {
        let (token, _) = TokenAuthority(secret: Array(repeating: 1, count: 32), audience: "db-1", clock: { now }).issue(
            userID: 1)
        #expect(throws: TurnstileError.unauthorized(detail: "The access token's signature is invalid.")) {
            try authority(at: now).verify(token)
        }
    }

    @Test("a tampered payload is refused")
    func tampered() throws {
        let (token, _) = authority(at: now).issue(userID: 1)
        let parts = token.split(separator: ".").map(String.init)
        let payload = Base64URL.encode(Data(#"{"sub":"2","aud":"db-1","iat":1900000000,"exp":1900000060}"#.utf8))
        #expect(throws: TurnstileError.unauthorized(detail: "The access token's signature is invalid.")) {
            try authority(at: now).verify([parts[0], payload, parts[2]].joined(separator: "."))
        }
    }

    @Test("a token issued for another database is refused, even with the same secret")
    func otherDatabase() {
        let (token, _) = TokenAuthority(secret: secret, audience: "db-2", clock: { now }).issue(userID: 1)
        #expect(
            throws: TurnstileError.unauthorized(
                detail: "The access token was issued for another database; log in again.")
        ) {
            try authority(at: now).verify(token)
        }
    }

    @Test("alg none and other algorithms are refused")
    func algorithmConfusion() {
        let payload = Base64URL.encode(Data(#"{"sub":"1","iat":1900000000,"exp":1900000060}"#.utf8))
        for header in [#"{"alg":"none"}"#, #"{"alg":"HS512"}"#, #"{"alg":"RS256"}"#] {
            let token = Base64URL.encode(Data(header.utf8)) + "." + payload + "."
            #expect(throws: TurnstileError.unauthorized(detail: "The access token must be signed with HS256.")) {
                try authority(at: now).verify(token)
            }
        }
    }

    @Test("malformed tokens are refused", arguments: ["", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.e30"])
    func malformed(_ token: String) {
        #expect(throws: TurnstileError.self) { try authority(at: now).verify(token) }
    }
}

@Suite("PasswordHasher")
struct PasswordHasherTests {
    @Test("hashes are salted, carry their rounds, and verify only the right password")
    func hashAndVerify() async throws {
        let hasher = PasswordHasher(rounds: 1_000)
        let first = try await hasher.hash("correct horse")
        let second = try await hasher.hash("correct horse")
        #expect(first != second, "each hash has its own salt")
        #expect(first.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(try await hasher.verify("correct horse", against: first))
        #expect(try await !hasher.verify("wrong horse", against: first))
        // A hasher configured with other rounds still verifies old hashes: the cost is read from the hash.
        #expect(try await PasswordHasher(rounds: 5).verify("correct horse", against: first))
        #expect(try await !hasher.verify("correct horse", against: "not-a-hash"))
    }
}

extension TokenAuthorityTests {
    @Test("a remembered token is still refused once it expires")
    func rememberedTokenExpires() throws {
        let clock = ManualClock(now)
        let authority = TokenAuthority(secret: secret, audience: "db-1", lifetimeSeconds: 60, clock: { clock.now })
        let (token, _) = authority.issue(userID: 5)
        #expect(try authority.verify(token) == 5)
        #expect(try authority.verify(token) == 5)
        clock.now = now.addingTimeInterval(61)
        #expect(throws: TurnstileError.unauthorized(detail: "The access token has expired; log in again.")) {
            try authority.verify(token)
        }
    }
}

/// A clock a test moves by hand.
private final class ManualClock: Sendable {
    private let time: Mutex<Date>
    init(_ now: Date) { time = Mutex(now) }
    var now: Date {
        get { time.withLock { $0 } }
        set { time.withLock { $0 = newValue } }
    }
}
