import NIOCore
import NIOPosix
import Testing
import TurnstileTestSupport

@testable import TurnstileLoad

/// The fault proxy between a client and a real Turnstile server on 127.0.0.1.
@Suite("Fault proxy", .timeLimit(.minutes(1)))
struct FaultProxyTests {
    @Test(
        "fault specs parse",
        arguments: [
            ("db:outage@10s+10s", ScheduledFault(link: "db", .outage, at: .seconds(10), for: .seconds(10))),
            (
                "latency=200ms@0s+5s",
                ScheduledFault(.latency(delay: .milliseconds(200), jitter: .zero), at: .zero, for: .seconds(5))
            ),
            (
                "latency=200ms~50ms@1s+2s",
                ScheduledFault(
                    .latency(delay: .milliseconds(200), jitter: .milliseconds(50)), at: .seconds(1), for: .seconds(2))
            ),
            ("bandwidth=1000@0+1m", ScheduledFault(.bandwidth(bytesPerSecond: 1000), at: .zero, for: .seconds(60))),
            ("reset@500ms+100ms", ScheduledFault(.reset, at: .milliseconds(500), for: .milliseconds(100))),
            ("blackhole@1s+1s", ScheduledFault(.blackhole, at: .seconds(1), for: .seconds(1))),
            ("close-after=100@0s+1s", ScheduledFault(.closeAfter(bytes: 100), at: .zero, for: .seconds(1))),
        ])
    func parsing(_ text: String, _ expected: ScheduledFault) throws {
        #expect(try ScheduledFault(parsing: text) == expected)
    }

    @Test(
        "nonsense specs are refused",
        arguments: ["outage", "outage@10s", "flood@1s+1s", "latency@1s+1s", "outage@1s+0s"])
    func badSpecs(_ text: String) {
        #expect(throws: FaultSpecError.self) { try ScheduledFault(parsing: text) }
    }

    @Test("without a fault, requests go through unchanged")
    func passesThrough() async throws {
        let outcome = try await throughProxy([]) { proxy, health in await health(.seconds(5)) }
        #expect(outcome == .answered(status: 200, contentType: "application/json; charset=utf-8"))
    }

    @Test("latency holds every answer back by at least the delay")
    func latency() async throws {
        try await throughProxy(["latency=300ms@0s+60s"]) { proxy, health in
            let started = ContinuousClock.now
            let outcome = await health(.seconds(5))
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(outcome == .answered(status: 200, contentType: "application/json; charset=utf-8"))
        }
    }

    @Test("an outage resets connections; a blackhole answers nothing; close-after cuts the link")
    func brokenLinks() async throws {
        let outage = try await throughProxy(["outage@0s+60s"]) { _, health in await health(.seconds(5)) }
        #expect(Self.isCut(outage), "\(outage)")
        let blackhole = try await throughProxy(["blackhole@0s+60s"]) { _, health in await health(.milliseconds(500)) }
        #expect(blackhole == .timedOut)
        let cut = try await throughProxy(["close-after=10@0s+60s"]) { _, health in await health(.seconds(5)) }
        #expect(cut == .closedSilently)
    }

    @Test("when an outage window ends, the link works again")
    func recovers() async throws {
        // The window is long enough that the first request, sent at once, falls inside it even on a loaded machine.
        try await throughProxy(["outage@0s+3s"]) { proxy, health in
            let during = await health(.seconds(5))
            #expect(Self.isCut(during), "\(during)")
            // Waits on the proxy's own clock for the window to close, then tries again.
            while proxy.elapsed < .milliseconds(3_020) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await health(.seconds(5)) == .answered(status: 200, contentType: "application/json; charset=utf-8"))
        }
    }

    /// Whether the link was cut: reset, closed, or refused before the connection was even up.
    private static func isCut(_ outcome: RawExchange.Outcome) -> Bool {
        switch outcome {
        case .reset, .closedSilently, .refused: true
        case .answered, .timedOut: false
        }
    }

    /// Runs `body` with a proxy in front of a live server; `health` sends GET /health through the proxy.
    @discardableResult
    private func throughProxy<Result: Sendable>(
        _ faults: [String],
        _ body: @Sendable (FaultProxy, @Sendable (TimeAmount) async -> RawExchange.Outcome) async throws -> Result
    ) async throws -> Result {
        try await LiveServer.with { server in
            let proxy = try await FaultProxy.start(
                listeningOn: ("127.0.0.1", 0), upstream: ("127.0.0.1", server.port),
                schedule: try faults.map { try ScheduledFault(parsing: $0) })
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(proxy.port)")
            let request = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            do {
                let result = try await body(proxy) { timeout in
                    await RawExchange.send(
                        request, to: target, on: MultiThreadedEventLoopGroup.singleton.next(), timeout: timeout)
                }
                await proxy.stop()
                return result
            } catch {
                await proxy.stop()
                throw error
            }
        }
    }
}
