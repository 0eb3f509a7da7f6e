import Foundation
import NIOSSL
import TurnstileServer

/// A fresh self-signed certificate for localhost, 127.0.0.1 and ::1, made in the test (no `openssl`).
public enum TestCertificate {
    /// Writes one into `folder`; returns its PEM files (the certificate doubles as the CA to trust) and a server's TLS
    /// from it.
    public static func make(
        in folder: URL
    ) throws -> (paths: (certificate: String, key: String), tls: TLSConfiguration) {
        let paths = try SelfSignedCertificate().write(into: folder)
        return (paths, try TLSConfiguration.server(certificateFile: paths.certificate, keyFile: paths.key))
    }
}
