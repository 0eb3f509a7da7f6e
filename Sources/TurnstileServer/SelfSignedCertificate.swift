import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate for HTTPS on one machine (`turnstile demo --http2`, tests): a P-256 key and a certificate
/// it signs itself, for `localhost` and 127.0.0.1, valid for a day. Made with swift-certificates and swift-crypto,
/// without shelling out to `openssl`. Never for production: nothing vouches for it but itself.
public struct SelfSignedCertificate: Sendable {
    /// The certificate, PEM: what a client trusts (`--ca-file`) and the server presents.
    public let certificatePEM: String
    /// The private key, PEM (PKCS #8).
    public let privateKeyPEM: String

    /// A new key and certificate for `names` (DNS names) and `addresses` (IPv4 or IPv6 literals).
    public init(names: [String] = ["localhost"], addresses: [String] = ["127.0.0.1", "::1"]) throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(names.first ?? "turnstile") }
        let now = Date()
        var alternatives: [GeneralName] = names.map { .dnsName($0) }
        for address in addresses {
            if let bytes = Self.bytes(ofAddress: address) {
                alternatives.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
            }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(86_400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                KeyUsage(digitalSignature: true, keyCertSign: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternatives)
            },
            issuerPrivateKey: .init(key))
        certificatePEM = try certificate.serializeAsPEM().pemString
        privateKeyPEM = key.pemRepresentation
    }

    /// Writes the certificate and key into `folder` as `turnstile-cert.pem` and `turnstile-key.pem`; returns their
    /// paths.
    public func write(into folder: URL) throws -> (certificate: String, key: String) {
        let certificate = folder.appendingPathComponent("turnstile-cert.pem")
        let key = folder.appendingPathComponent("turnstile-key.pem")
        try Data(certificatePEM.utf8).write(to: certificate)
        try Data(privateKeyPEM.utf8).write(to: key, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        return (certificate.path, key.path)
    }

    /// The bytes of an IP address literal, or nil if `text` is not one.
    private static func bytes(ofAddress text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
