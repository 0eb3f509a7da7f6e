import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileLoad
import TurnstileReport
import TurnstileTestSupport

/// The executors against a live Turnstile server on loopback. Counts are asserted exactly; speed is not asserted.
@Suite("Executors", .timeLimit(.minutes(1)))
struct ExecutorTests {
    private let group = MultiThreadedEventLoopGroup.singleton
    private let health = LoadRequest(endpoint: "health", method: .GET, path: "/health")

    @Test("closed: users loop until the time is up; every request is recorded with its status")
    func closed() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let request = health
            let phase = try await ClosedExecutor(users: 4, duration: .milliseconds(300))
                .run("closed", scenario: { _, _ in request }, target: target, group: group)
            let stats = try #require(phase.endpoints.first)
            #expect(phase.endpoints.count == 1 && stats.name == "health")
            #expect(stats.requests > 0)
            #expect(stats.count(status: 200) == stats.requests)
            #expect(phase.timeline.map(\.requests).reduce(0, +) == stats.requests)
            #expect(phase.executor == "closed" && phase.users == 4)
        }
    }

    @Test("open: exactly rate × duration arrivals, each recorded from its intended start")
    func open() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let request = health
            // Two loops, whatever the machine: each paces 100 arrivals a second, exactly 10 ms apart.
            let twoLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            defer { Task { try? await twoLoops.shutdownGracefully() } }
            let phase = try await OpenExecutor(rate: 200, duration: .seconds(1), connectionsMax: 8)
                .run("open", scenario: { _, _ in request }, target: target, group: twoLoops)
            // Arrivals are scheduled, not measured: 200 per second for one second, whatever the latency. None is
            // dropped on loopback with 8 connections, so all 200 are recorded.
            #expect(phase.overall.requests == 200)
            #expect(phase.overall.count(status: 200) == 200)
            #expect(phase.lateStarts != nil)
        }
    }

    @Test("an unreachable target gives connect errors, not a hang")
    func unreachable() async throws {
        // Port 1 on loopback: nothing listens there, so every connect is refused at once.
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let request = health
        let phase = try await ClosedExecutor(users: 2, duration: .milliseconds(200))
            .run("closed", scenario: { _, _ in request }, target: target, group: group)
        #expect(phase.overall.errorCounts["connect", default: 0] > 0)
        #expect(phase.overall.responses == 0)
    }
}

extension ExecutorTests {
    @Test("open with a ramping rate: arrivals follow the ramp, 100 → 300 per second over a second is about 200")
    func openRamp() async throws {
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let request = health
            let twoLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
            defer { Task { try? await twoLoops.shutdownGracefully() } }
            let phase = try await OpenExecutor(rate: 100, rateEnd: 300, duration: .seconds(1), connectionsMax: 8)
                .run("open ramp", scenario: { _, _ in request }, target: target, group: twoLoops)
            // The arrivals are the integral of the rate: (100 + 300) / 2 × 1 s, give or take the rounding of each
            // loop's intervals.
            #expect((195...205).contains(phase.overall.requests))
            #expect(phase.overall.count(status: 200) == phase.overall.requests)
        }
    }
}
