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

    @Test(
        "other schemes and bad ports are refused with a reason",
        arguments: [
            "https://127.0.0.1", "ftp://x", "127.0.0.1:8080", "http://", "http://host:0", "http://host:70000",
            "http://host:x",
        ])
    func refuses(_ text: String) {
        #expect(throws: LoadTargetError.self) { try LoadTarget(parsing: text) }
    }
}
