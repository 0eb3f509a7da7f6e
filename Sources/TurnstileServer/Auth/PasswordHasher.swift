import Crypto
import Foundation
import NIOCore
import NIOPosix
import TurnstileCore
import _CryptoExtras

/// Hashes passwords with PBKDF2-HMAC-SHA256 and a random 16-byte salt, off the event loops, at most one per core
/// at a time and a bounded queue behind them (see ``HashingGate``).
///
/// A hash is stored as `pbkdf2-sha256$<rounds>$<salt>$<key>` (base64url), so every hash carries its own cost and
/// the configured cost can change without locking anyone out.
public struct PasswordHasher: Sendable {
    public let rounds: Int
    private let gate: HashingGate
    private static let scheme = "pbkdf2-sha256"
    private static let keyByteCount = 32

    public init(rounds: Int, queuedMax: Int = Limits.passwordHashesQueuedMax) {
        precondition(rounds >= 1, "at least one round")
        self.rounds = rounds
        gate = HashingGate(concurrency: System.coreCount, queuedMax: queuedMax)
    }

    /// A new salted hash of `password`.
    public func hash(_ password: String) async throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let rounds = self.rounds
        let key = try await offload { try Self.derive(password, salt: salt, rounds: rounds) }
        return [Self.scheme, String(rounds), Base64URL.encode(salt), Base64URL.encode(key)].joined(separator: "$")
    }

    /// Whether `password` matches `stored`, compared in constant time. A malformed hash matches nothing.
    public func verify(_ password: String, against stored: String) async throws -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == Self.scheme, let rounds = Int(parts[1]), rounds >= 1,
            let salt = Base64URL.decode(parts[2]), let expected = Base64URL.decode(parts[3])
        else { return false }
        let key = try await offload { try Self.derive(password, salt: salt, rounds: rounds) }
        return safeCompare(key, expected)
    }

    /// Spends the same time as a verification, for unknown accounts, so that timing does not reveal which emails
    /// have one.
    public func verifyNothing(_ password: String) async throws {
        let rounds = self.rounds
        _ = try await offload { try Self.derive(password, salt: Data(count: 16), rounds: rounds) }
    }

    private static func derive(_ password: String, salt: Data, rounds: Int) throws -> Data {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Data(password.utf8), salt: salt, using: .sha256, outputByteCount: keyByteCount,
            unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Data($0) }
    }

    /// Hashing takes milliseconds of CPU: run it on NIO's blocking pool, not on a cooperative or event-loop thread,
    /// through the gate.
    private func offload<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await gate.run { try await NIOThreadPool.singleton.runIfActive(work) }
    }

    private func safeCompare(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
