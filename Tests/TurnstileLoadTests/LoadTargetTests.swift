import Testing
import TurnstileLoad

@Suite("LoadTarget")
struct LoadTargetTests {
    @Test("http URLs parse into host, port and base path")
    func parses() throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:8080/base/")
        #expect(target.host == "127.0.0.1" && target.port == 8080 && target.basePath == "/base")
        let ipv6 = try LoadTarget(parsing: "http://[::1]:9000")
        #expect(ipv6.host == "::1" && ipv6.port == 9000 && ipv6.description == "http://[::1]:9000")
        #expect(try LoadTarget(parsing: "http://localhost").port == 80)
    }

    @Test("https URLs default to port 443, carry TLS with SNI for a name (not an address), and say https")
    func parsesHTTPS() throws {
        let named = try LoadTarget(parsing: "https://example.test/api")
        #expect(named.port == 443 && named.description == "https://example.test:443/api" && named.tls != nil)
        #expect(named.tls?.options == TLSOptions())
        let insecure = try LoadTarget(parsing: "https://[::1]:8443", tls: TLSOptions(insecure: true))
        #expect(insecure.port == 8443 && insecure.tls?.options.insecure == true)
        #expect(try LoadTarget(parsing: "http://127.0.0.1:80").tls == nil)
        #expect(
            throws: LoadTargetError.self, "a CA file that is not there",
            performing: { try LoadTarget(parsing: "https://x", tls: TLSOptions(caFile: "/nonexistent.pem")) })
    }

    @Test(
        "other schemes and bad ports are refused with a reason",
        arguments: [
            "ftp://x", "127.0.0.1:8080", "http://", "http://host:0", "http://host:70000",
            "http://host:x",
        ])
    func refuses(_ text: String) {
        #expect(throws: LoadTargetError.self) { try LoadTarget(parsing: text) }
    }
}
