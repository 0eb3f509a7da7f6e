import Crypto
import Foundation
import Synchronization
import TurnstileCore

/// Issues and verifies access tokens: JWTs signed with HMAC-SHA256 (HS256).
///
/// Verification accepts only what this authority issues: the header must say `HS256` (so `alg: none` and algorithm
/// confusion are refused), the signature is compared in constant time, and `exp` must lie in the future.
///
/// A client sends the same token with every request, so verified tokens are remembered (up to
/// ``Limits/verifiedTokensRememberedMax``, keyed by the whole token): a remembered token skips decoding and the HMAC,
/// but its expiry is still checked every time.
public struct TokenAuthority: Sendable {
    /// Kept as bytes: `SymmetricKey` is not `Sendable` on every platform, and making one is cheap.
    private let secret: [UInt8]
    /// The store the tokens are for (``TurnstileStore/identity``), carried as the `aud` claim.
    private let audience: String
    private let lifetimeSeconds: Int
    private let clock: @Sendable () -> Date
    private let verified = VerifiedTokens()

    /// The encoded header of every token: `{"alg":"HS256","typ":"JWT"}`.
    private static let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    public init(
        secret: [UInt8], audience: String, lifetimeSeconds: Int = Limits.accessTokenLifetimeSeconds,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.secret = secret
        self.audience = audience
        self.lifetimeSeconds = lifetimeSeconds
        self.clock = clock
    }

    private struct Claims: Codable {
        let sub: String
        let aud: String
        let iat: Int64
        let exp: Int64
        /// Not before: never issued by this authority, but honoured when present.
        var nbf: Int64? = nil
    }

    private struct Header: Decodable {
        let alg: String
    }

    /// Accounts known to exist: those this authority issued tokens for, and those the store confirmed. Accounts are
    /// never deleted, so an entry never goes stale.
    let knownUsers = KnownUsers()

    /// A signed token for `userID`, and how many seconds it stays valid.
    public func issue(userID: Int64) -> (token: String, expiresInSeconds: Int) {
        knownUsers.insert(userID)
        let now = Int64(clock().timeIntervalSince1970)
        let claims = Claims(sub: String(userID), aud: audience, iat: now, exp: now + Int64(lifetimeSeconds))
        // Encoding three plain fields cannot fail.
        let payload = Base64URL.encode(try! JSONEncoder().encode(claims))
        let signingInput = Self.header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: secret))
        return (signingInput + "." + Base64URL.encode(Data(signature)), lifetimeSeconds)
    }

    /// The user a token names. Throws ``TurnstileError/unauthorized(detail:)`` for a malformed, forged or expired
    /// token, saying which.
    public func verify(_ token: String) throws(TurnstileError) -> Int64 {
        let now = Int64(clock().timeIntervalSince1970)
        if let remembered = verified.lookUp(token) {
            guard remembered.expiresAt > now else { throw Self.expired }
            return remembered.userID
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payloadData = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2])
        else {
            throw .unauthorized(detail: "The access token is malformed.")
        }
        // Every token this authority signs carries exactly its header, and only those can pass the signature check;
        // any other header is decoded only to say what is wrong with it.
        if parts[0] != Self.header {
            guard let headerData = Base64URL.decode(parts[0]) else {
                throw .unauthorized(detail: "The access token is malformed.")
            }
            guard let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256" else {
                throw .unauthorized(detail: "The access token must be signed with HS256.")
            }
        }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                signature, authenticating: signingInput, using: SymmetricKey(data: secret))
        else {
            throw .unauthorized(detail: "The access token's signature is invalid.")
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payloadData), let userID = Int64(claims.sub)
        else {
            throw .unauthorized(detail: "The access token's claims are malformed.")
        }
        guard claims.aud == audience else {
            throw .unauthorized(detail: "The access token was issued for another database; log in again.")
        }
        guard claims.exp > now else { throw Self.expired }
        // A token from the future, or one that lives longer than this service issues them for, was not made by
        // this service as it runs now, whoever holds the secret.
        let skew = Int64(Limits.accessTokenClockSkewSeconds)
        guard claims.iat <= now + skew, (claims.nbf ?? now) <= now + skew else {
            throw .unauthorized(detail: "The access token is not valid yet (issued or valid from the future).")
        }
        guard claims.exp - claims.iat <= Int64(lifetimeSeconds), claims.exp <= now + Int64(lifetimeSeconds) + skew
        else {
            throw .unauthorized(
                detail: "The access token lives longer than the \(lifetimeSeconds) s this service issues tokens for.")
        }
        verified.remember(token, as: VerifiedTokens.Entry(userID: userID, expiresAt: claims.exp))
        return userID
    }

    private static let expired = TurnstileError.unauthorized(detail: "The access token has expired; log in again.")
}

/// Account ids known to exist, so that a valid token is checked against the store once, not on every request.
/// Bounded: emptied when full, so memory stays within ``Limits/verifiedTokensRememberedMax`` ids.
final class KnownUsers: Sendable {
    private let ids = Mutex<Set<Int64>>([])

    func contains(_ id: Int64) -> Bool {
        ids.withLock { $0.contains(id) }
    }

    func insert(_ id: Int64) {
        ids.withLock { ids in
            if ids.count >= Limits.verifiedTokensRememberedMax { ids.removeAll(keepingCapacity: true) }
            ids.insert(id)
        }
    }
}

/// Tokens whose signature and claims were verified, with what they say. Bounded: emptied when full, so memory stays
/// within ``Limits/verifiedTokensRememberedMax`` entries whatever clients send (only valid tokens get in).
private final class VerifiedTokens: Sendable {
    struct Entry {
        let userID: Int64
        let expiresAt: Int64
    }

    private let entries = Mutex<[String: Entry]>([:])

    func lookUp(_ token: String) -> Entry? {
        entries.withLock { $0[token] }
    }

    func remember(_ token: String, as entry: Entry) {
        entries.withLock { entries in
            if entries.count >= Limits.verifiedTokensRememberedMax { entries.removeAll(keepingCapacity: true) }
            entries[token] = entry
        }
    }
}
