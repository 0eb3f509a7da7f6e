import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileLoad
import TurnstileReport

@testable import turnstile

/// `turnstile demo --http2`'s service: the embedded service over HTTPS with a certificate made at start (no
/// `openssl`), which its target trusts, so the engine speaks HTTP/2 to it and races single-packet.
@Suite("The embedded service over HTTP/2", .timeLimit(.minutes(1)))
struct EmbeddedHTTP2Tests {
    @Test("demo --http2's service is HTTPS with a throwaway certificate, and a race on it is one HTTP/2 packet")
    func raceOverHTTP2() async throws {
        let (scheme, phase) = try await EmbeddedService.with(http2: true) { target in
            let requests = (0..<20).map { _ in LoadRequest(endpoint: "health", method: .GET, path: "/health") }
            let (phase, _) = try await BarrierExecutor().run(
                "health", requests: requests, target: target, group: MultiThreadedEventLoopGroup.singleton)
            return (target.scheme, phase)
        }
        #expect(scheme == "https")
        #expect(phase.overall.count(status: 200) == 20 && phase.overall.errorCounts.isEmpty)
        #expect(phase.httpVersions == ["2": 1] && phase.releasePackets == 1 && phase.tlsLatency?.count == 1)
    }
}
