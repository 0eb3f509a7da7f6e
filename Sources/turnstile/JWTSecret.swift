import Foundation

/// Where the service's token-signing secret comes from.
enum JWTSecret {
    /// The secret to use: the explicit one if given, else the one kept beside the database, else a new random one,
    /// which is then kept there (readable by the owner only) so that tokens survive restarts.
    static func resolve(explicit: String?, keptBeside databasePath: String) throws -> [UInt8] {
        if let explicit { return Array(explicit.utf8) }
        let path = databasePath + ".jwt-secret"
        if FileManager.default.fileExists(atPath: path) {
            // Never replace a secret that exists: every token signed with it would stop working.
            guard let kept = FileManager.default.contents(atPath: path),
                let bytes = bytes(
                    fromHex: String(decoding: kept, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                bytes.count >= 32
            else { throw SecretFileError(path: path) }
            return bytes
        }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hex = secret.map { String(format: "%02x", $0) }.joined()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else { throw SecretFileError(path: path) }
        return secret
    }

    private static func bytes(fromHex hex: String) -> [UInt8]? {
        guard hex.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    struct SecretFileError: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "The JWT secret file \(path) is unreadable or not 64+ hex digits; fix or delete it, or pass --jwt-secret."
        }
    }
}
