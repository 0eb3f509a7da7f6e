import Foundation
import NIOCore
import Synchronization
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
            // Arrivals are scheduled, not measured: 200 per second for one second, whatever the latency. Each is
            // either sent and recorded or, if no connection was free before the end (a loaded machine), dropped.
            let dropped = try #require(phase.droppedStarts)
            #expect(phase.overall.requests + dropped == 200)
            #expect(phase.overall.count(status: 200) == phase.overall.requests)
            #expect(phase.lateStarts != nil)
        }
    }

    @Test("open and closed over HTTP/2 (h2c): --streams 4 puts 8 users' requests on 2 connections, all answered")
    func streamsShareConnections() async throws {
        try await StampingServer.with(delay: .milliseconds(5), speaking: .h2c) { server in
            let target = try LoadTarget(
                parsing: "http://127.0.0.1:\(server.port)", http: HTTPOptions(version: .http2, streams: 4))
            let request = health
            let oneLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { Task { try? await oneLoop.shutdownGracefully() } }
            // 8 users at 5 ms each would take 1,600/s: the rate keeps every user busy, so all 8 streams are used.
            let open = try await OpenExecutor(rate: 2_000, duration: .milliseconds(300), connectionsMax: 8)
                .run("open", scenario: { _, _ in request }, target: target, group: oneLoop)
            let closed = try await ClosedExecutor(users: 8, duration: .milliseconds(300))
                .run("closed", scenario: { _, _ in request }, target: target, group: oneLoop)
            for phase in [open, closed] {
                #expect(phase.httpVersions == ["2": 2], "\(phase.name): \(phase.httpVersions)")
                // How many depends on the machine (a loaded one may spend most of 300 ms connecting); that what was
                // sent went over the two shared connections and was answered does not.
                #expect(
                    phase.overall.requests > 0 && phase.overall.errorCounts.isEmpty,
                    "\(phase.name): \(phase.overall.requests) requests, \(phase.overall.errorCounts)")
                #expect(phase.overall.count(status: 200) == phase.overall.requests)
            }
        }
    }

    @Test("HTTP/2 with prior knowledge to a server that never sends its settings fails within the connect timeout")
    func silentHTTP2Server() async throws {
        // A listener that accepts and says nothing, as an HTTP/1.1 server waiting for a request line might.
        let silent = try await ServerBootstrap(group: group)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let target = try LoadTarget(
            parsing: "http://127.0.0.1:\(silent.localAddress!.port!)", http: HTTPOptions(version: .http2))
        let started = NIODeadline.now()
        await #expect {
            _ = try await HTTPClientConnection.connect(
                to: target, on: group.next(), timeouts: .init(connect: .milliseconds(300))
            ).get()
        } throws: { error in
            (error as? LoadError)?.kind == .protocol && "\(error)".contains("no HTTP/2 settings from the server")
        }
        #expect(NIODeadline.now() - started < .seconds(5))
    }

    @Test("open: the phase ends at its duration; arrivals no connection could take are dropped, with a warning")
    func openEndsOnTime() async throws {
        // One connection to a server that answers after 50 ms carries about 20 requests a second, not 1,000: the
        // phase must still end at its 400 ms (plus the request in flight), not drain 400 arrivals one by one.
        try await StampingServer.with(delay: .milliseconds(50)) { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let request = health
            let oneLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            defer { Task { try? await oneLoop.shutdownGracefully() } }
            let phase = try await OpenExecutor(rate: 1_000, duration: .milliseconds(400), connectionsMax: 1)
                .run("open", scenario: { _, _ in request }, target: target, group: oneLoop)
            let sent = phase.overall.requests
            // A request takes at least 50 ms and one connection carries one at a time: at most 400 / 50 start
            // before the end, plus the one in flight.
            #expect(sent >= 1 && sent <= 9, "\(sent) requests")
            #expect((phase.droppedStarts ?? 0) + sent == 400, "every arrival is either sent or dropped")
            let warning = try #require(phase.warnings.first)
            #expect(warning.hasPrefix("1 connections could not carry 1000.0/s"), "\(warning)")
            #expect(warning.contains("connections would"))
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
            // loop's intervals; each is sent, or dropped when no connection was free before the end.
            #expect((195...205).contains(phase.overall.requests + (phase.droppedStarts ?? 0)))
            #expect(phase.overall.count(status: 200) == phase.overall.requests)
        }
    }
}

/// What every run shares: thresholds checked before anything is sent, and a run that measured nothing never passing.
@Suite("Stress run")
struct StressRunTests {
    @Test("a threshold naming no endpoint of the suite is refused before the run starts")
    func unknownEndpoint() async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let ran = Mutex(false)
        let report = await StressRun.execute(
            suite: "url", target: target, thresholds: [try Threshold(parsing: "book:p95<1ms")],
            endpoints: ["GET /health"]
        ) { _ in ran.withLock { $0 = true } }
        #expect(!ran.withLock { $0 })
        #expect(report.outcome == .couldNotRun)
        #expect(report.failure?.contains("'book:p95<1ms' names no endpoint of url") == true)
    }

    @Test("a run against a closed port could not be carried out: exit 3, a hint, and no latency")
    func closedPort() async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let request = LoadRequest(endpoint: "GET /health", method: .GET, path: "/health")
        let report = await StressRun.execute(suite: "url", target: target, thresholds: []) { report in
            report.phases.append(
                try await ClosedExecutor(users: 2, duration: .milliseconds(200))
                    .run(
                        "url", scenario: { _, _ in request }, target: target,
                        group: MultiThreadedEventLoopGroup.singleton))
        }
        #expect(report.outcome == .couldNotRun)
        #expect(report.failure?.hasPrefix("nothing listens on http://127.0.0.1:1") == true)
        #expect(ConsoleRenderer.render(report).contains("—"))
    }

    @Test("a target that answers HTML where the API answers JSON is named as such, with where to go instead")
    func notThisAPI() async throws {
        try await StampingServer.with(html: true) { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let report = await runBundled([(.race, ["users": 2, "capacity": 1])], target: target, suite: "race")
            #expect(report.outcome == .couldNotRun)
            let failure = try #require(report.failure)
            #expect(failure.contains("'register'") && failure.contains("answered an HTML page (200)"), "\(failure)")
            #expect(failure.contains("`turnstile stress url`"))
        }
    }

    @Test("an error thrown during set-up by a refused connect names the target and what to do")
    func setUpConnectRefused() async throws {
        let target = try LoadTarget(parsing: "http://127.0.0.1:1")
        let report = await runBundled([(.race, ["users": 2, "capacity": 1])], target: target, suite: "race")
        #expect(report.outcome == .couldNotRun)
        #expect(report.failure?.hasPrefix("nothing listens on http://127.0.0.1:1 (connection refused)") == true)
    }
}

/// Reading a process's resources from /proc and a Prometheus endpoint's series.
@Suite("Resource watcher")
struct ResourceWatcherTests {
    @Test("this process's CPU, memory, threads and open files read from /proc; a process that is not there is nil")
    func processStats() throws {
        let stats = try #require(ResourceWatcher.ProcessStats.read())
        #expect(stats.residentBytes > 1 << 20 && stats.threads >= 1 && stats.openFiles >= 3 && stats.cpuSeconds > 0)
        #expect(ResourceWatcher.ProcessStats.read(String(Int32.max)) == nil)
    }

    @Test("a process's tree counts the CPU of the children it started, live or already reaped; itself, only its own")
    func processTree() async throws {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        // A child that burns CPU and is waited for, then the shell becomes a sleep: the same process, and the CPU its
        // reaped child used counts to it still.
        shell.arguments = ["-c", "(i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done); echo done; exec sleep 30"]
        let output = Pipe()
        shell.standardOutput = output
        try shell.run()
        defer { kill(shell.processIdentifier, SIGKILL) }
        _ = await onOwnThread { output.fileHandleForReading.availableData }
        let own = try #require(ResourceWatcher.ProcessStats.read(String(shell.processIdentifier)))
        let tree = try #require(ResourceWatcher.ProcessStats.tree(shell.processIdentifier))
        #expect(tree.cpuSeconds - own.cpuSeconds >= 0.05, "tree \(tree.cpuSeconds) s, own \(own.cpuSeconds) s")
        #expect(ProcessTree.members(of: shell.processIdentifier) == [shell.processIdentifier])
    }

    @Test("a series is kept by its name (every label set) or its whole id; comments and others are not")
    func prometheusSeries() {
        let text = """
            # HELP turnstile_connections_open Open connections.
            # TYPE turnstile_connections_open gauge
            turnstile_connections_open 7.0
            turnstile_store_errors_total{operation="batch"} 2
            turnstile_store_errors_total{operation="a request"} 3 1700000000000
            process_resident_memory_bytes 1.5e+07
            """
        #expect(
            ResourceWatcher.series(["turnstile_connections_open", "turnstile_store_errors_total"], in: text) == [
                "turnstile_connections_open": 7, "turnstile_store_errors_total{operation=\"batch\"}": 2,
                "turnstile_store_errors_total{operation=\"a request\"}": 3,
            ])
        #expect(
            ResourceWatcher.series(["turnstile_store_errors_total{operation=\"batch\"}", "nothing"], in: text) == [
                "turnstile_store_errors_total{operation=\"batch\"}": 2
            ])
    }
}
