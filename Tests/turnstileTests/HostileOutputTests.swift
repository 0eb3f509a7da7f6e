import Testing
import TurnstileReport

@testable import turnstile

/// What the engine shows of text it does not control (a target's answers, a scenario's names, the command line's
/// secrets) cannot steer a terminal, break the live page's event stream, or leak a credential into a report.
@Suite("Hostile text in the engine's output")
struct HostileOutputTests {
    @Test("secret-looking header values and --set values are redacted from the command line; the rest stays")
    func redactedCommandLine() {
        let shown = RedactedCommandLine.redacted([
            "turnstile", "stress", "url", "http://127.0.0.1:8080/", "-H", "Authorization: Bearer abc.def",
            "-H", "X-Api-Key: k1", "-H", "Accept: application/json", "--set", "password=hunter2", "--set=buyers=9",
            "--set=SESSION_TOKEN=t0", "--set", "stock=5", "Cookie: id=1",
        ])
        #expect(
            shown
                == "turnstile stress url http://127.0.0.1:8080/ -H Authorization: [redacted] -H X-Api-Key: [redacted] "
                + "-H Accept: application/json --set password=[redacted] --set=buyers=9 --set=SESSION_TOKEN=[redacted] "
                + "--set stock=5 Cookie: [redacted]")
    }

    @Test("a line break of any kind in the live page's content starts a new data line: no event can be injected")
    func eventStream() {
        let event = Dashboard.event("report", data: "a\r\nevent: final\rdata: x\nb")
        #expect(event == "event: report\ndata: a\ndata: event: final\ndata: data: x\ndata: b\n\n")
        #expect(Dashboard.event("final", data: "") == "event: final\ndata: \n\n")
    }

    @Test("the dashboard answers for its own address, localhost and IP literals; any other name is refused")
    func hostCheck() {
        for own in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:9", "10.1.2.3:80", "box.lan:1"] {
            #expect(Dashboard.isOwn(own, listeningHost: "box.lan"), "\(own)")
        }
        for foreign in ["rebound.example:8080", "127.0.0.1.nip.io", "localhost.evil.example", ""] {
            #expect(!Dashboard.isOwn(foreign, listeningHost: "127.0.0.1"), "\(foreign)")
        }
    }

    @Test("control characters and reordering marks are shown as escapes; plain text and line breaks are left alone")
    func printable() {
        #expect(Format.printable("plain ✓ text\nline two") == "plain ✓ text\nline two")
        #expect(Format.printable("\u{1B}]0;pwned\u{07}red\u{1B}[31m") == "\\x1B]0;pwned\\x07red\\x1B[31m")
        #expect(Format.printable("a\rb\u{9B}c\u{202E}d") == "a\\x0Db\\x9Bc\\u{202E}d")
    }
}
