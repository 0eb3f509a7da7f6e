import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// One race spread over several shards: prepared once, released at one instant, judged as one run with one read-back.
@Suite("Sharded runs", .serialized, .timeLimit(.minutes(3)))
struct ShardTests {
    static let shopFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/examples/shop.yaml").standardizedFileURL

    @Test("every user in exactly one shard, dealt in turn; a phase's first M users spread over the shards")
    func partition() throws {
        for total in [1, 7, 100, 401] {
            for count in [1, 2, 4, 7] {
                let shards = try (0..<count).map { try Shard(index: $0, count: count) }
                let users = shards.flatMap { $0.users(of: total) }
                #expect(users.sorted() == Array(0..<total), "\(total) over \(count)")
                for first in [0, 1, 5, total] where first <= total {
                    #expect(shards.map { $0.share(of: first) }.reduce(0, +) == min(first, total))
                    for shard in shards {
                        #expect(shard.share(of: first) == shard.users(of: total).filter { $0 < first }.count)
                    }
                }
            }
        }
        #expect(try Shard(parsing: "3/4").users(of: 10) == [3, 7])
        for bad in ["4/4", "-1/4", "1", "a/b", "0/0", "0/1001"] {
            #expect(throws: ScenarioError.self) { try Shard(parsing: bad) }
        }
        // A Kubernetes Indexed Job's index, with the count the manifest sets.
        let job = try Shard.fromEnvironment(["TURNSTILE_SHARDS": "8", "JOB_COMPLETION_INDEX": "5"])
        #expect(job == (try Shard(index: 5, count: 8)))
        #expect(try Shard.fromEnvironment(["TURNSTILE_SHARD": "1/2"]) == (try Shard(index: 1, count: 2)))
        #expect(try Shard.fromEnvironment([:]) == nil)
        #expect(throws: ScenarioError.self) { try Shard.fromEnvironment(["TURNSTILE_SHARDS": "8"]) }
    }

    @Test(
        "400 buyers over 4 shards released at one instant, 10 seats: exactly 10 granted, one read-back, judged as one")
    func raceOverFourShards() async throws {
        try await LiveServer.with { server in
            let scenario = try BundledScenario.race.load()
            let overrides: [String: ScenarioValue] = ["users": 100, "capacity": 10]
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let prepared = try await ScenarioRunner(
                scenario, context: SuiteContext(target: target), overrides: overrides
            )
            .prepare(runID: "shards-\(UUID().uuidString.prefix(8))")
            // Time enough for every shard to provision its 25 users while the rest of the suite runs beside it (400
            // took 17 s there): a shard ready after the instant would be late, and the run not whole.
            let startAt = Date().addingTimeInterval(15)
            let shards = try await Self.run(scenario, shards: 4, target: target, prepared: prepared, startAt: startAt)
            for shard in shards {
                #expect(shard.failure == nil, "\(shard.reasons)")
                #expect(shard.invariants.isEmpty, "a shard judges nothing that needs the whole run")
                let starts = try #require(shard.shard?.starts)
                #expect(starts.count == 1 && starts[0].lateSeconds == 0, "\(starts)")
                // Released at the instant, by its own clock (a timer's lateness at most).
                #expect(abs(starts[0].at - startAt.timeIntervalSince1970) < 0.5, "\(starts)")
            }
            let merged = try await Self.merge(shards, target: target, prepared: prepared)
            #expect(merged.outcome == .passed, "\(merged.reasons)")
            let phase = try #require(merged.phases.first)
            #expect(phase.overall.count(status: 201) == 10 && phase.overall.count(status: 409) == 90)
            #expect(merged.invariants.count == 7 && merged.invariants.allSatisfy(\.passed), "\(merged.invariants)")
            // One read-back: the event's seats, read once by the merge, are 0.
            #expect(merged.invariants.contains { $0.rule.hasPrefix("seats left") && $0.actual == "0" })
            let spread = try #require(merged.notes.first { $0.contains("released by 4 shards within") })
            #expect(spread.contains("their clocks agree within"), "\(spread)")
        }
    }

    @Test("a shop that oversells when the whole crowd races: each shard's own counts look fine, the merge says exit 2")
    func crowdOversellCaughtOnlyWhole() async throws {
        try await ForeignShop.with(defect: .oversells, buyers: 40) { shop in
            let scenario = try ScenarioFile(contentsOf: Self.shopFile)
            let overrides: [String: ScenarioValue] = ["buyers": 40, "stock": 10]
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(shop.port)")
            let prepared = try await ScenarioRunner(
                scenario, context: SuiteContext(target: target), overrides: overrides
            )
            .prepare(runID: "crowd-\(UUID().uuidString.prefix(8))")
            let shards = try await Self.run(
                scenario, shards: 4, target: target, prepared: prepared, startAt: Date().addingTimeInterval(10))
            // Alone, a shard sold no more than the stock: 10 buyers cannot oversell 10 units.
            for shard in shards {
                #expect(try #require(shard.phases.first).overall.count(status: 200) <= 10)
            }
            let merged = try await Self.merge(shards, target: target, prepared: prepared)
            #expect(merged.outcome == .invariantBroken, "\(merged.reasons)")
            let broken = merged.invariants.filter { !$0.passed }.map(\.rule)
            #expect(broken.contains("never more sold than there was"), "\(broken)")
        }
    }

    @Test("a missing shard, one of another run, one late, one without --prepared: each its verdict and message")
    func incompleteRuns() async throws {
        try await LiveServer.with { server in
            let scenario = try BundledScenario.race.load()
            let overrides: [String: ScenarioValue] = ["users": 8, "capacity": 2]
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let prepared = try await ScenarioRunner(
                scenario, context: SuiteContext(target: target), overrides: overrides
            )
            .prepare(runID: "gaps-\(UUID().uuidString.prefix(8))")
            // Without --prepared, a scenario with a set-up is refused with what to do.
            do {
                _ = try ShardPlan(
                    shard: try Shard(index: 0, count: 2), scenario: scenario, prepared: nil, startAt: nil, runID: "x")
                Issue.record("a shard without --prepared was accepted")
            } catch {
                #expect("\(error)".contains("turnstile stress prepare"), "\(error)")
            }
            // An instant already past: every shard is late, and says by how much.
            let shards = try await Self.run(
                scenario, shards: 2, target: target, prepared: prepared, startAt: Date().addingTimeInterval(-2))
            #expect(shards.allSatisfy { ($0.shard?.starts.first?.lateSeconds ?? 0) > 1 })
            let late = try await Self.merge(shards, target: target, prepared: prepared)
            #expect(late.outcome == .couldNotRun)
            #expect(late.failure?.contains("after the start instant") == true, "\(late.reasons)")
            // What a late run saw is still judged: an oversell seen is an oversell, whenever it was released.
            #expect(!late.invariants.isEmpty && late.invariants.allSatisfy(\.passed))

            let onTime = try await Self.run(scenario, shards: 2, target: target, prepared: prepared, startAt: nil)
            let missing = try await Self.merge([onTime[0]], target: target, prepared: prepared)
            #expect(missing.outcome == .couldNotRun)
            #expect(missing.failure?.contains("shard 1/2 missing") == true, "\(missing.reasons)")
            let allowed = try await Self.merge([onTime[0]], target: target, prepared: prepared, allowMissing: true)
            #expect(allowed.notes.contains { $0.contains("shards 1/2 are missing; judged without them") })
            #expect(!allowed.invariants.isEmpty)

            var stranger = onTime[1]
            stranger.runID = "another-run"
            await #expect(throws: MergeError.self) {
                _ = try await Self.merge([onTime[0], stranger], target: target, prepared: prepared)
            }
        }
    }

    @Test("the clock's offset from a target whose Date runs 7 s ahead: found within its stated uncertainty")
    func clockOffset() async throws {
        let skew = 7.0
        let clock = try await Self.withDateServer(SkewedDate(skew: skew)) { target in
            try #require(await ClockProbe.measure(SuiteContext(target: target)))
        }
        #expect(abs(clock.offset - skew) <= clock.uncertainty + 0.01, "\(clock)")
        #expect(clock.uncertainty < 0.1, "\(clock)")
    }

    @Test("a target whose Date never turns: no estimate, and the probe stops at its bound")
    func clockNeverTurns() async throws {
        let started = ContinuousClock.now
        let clock = try await Self.withDateServer(SkewedDate(skew: 0, frozen: true)) { target in
            await ClockProbe.measure(SuiteContext(target: target))
        }
        #expect(clock == nil)
        // The bound itself (LoadLimits.clockProbeDuration), with room for a busy machine: not a measure of speed.
        #expect(ContinuousClock.now - started < .seconds(LoadLimits.clockProbeDuration + 5))
    }

    /// Runs `body` against a server that answers every request with `handler`'s `Date`.
    private static func withDateServer<Result: Sendable>(
        _ handler: @autoclosure @escaping @Sendable () -> SkewedDate, _ body: (LoadTarget) async throws -> Result
    ) async throws -> Result {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(handler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        return try await body(try LoadTarget(parsing: "http://127.0.0.1:\(channel.localAddress?.port ?? 0)"))
    }

    @Test("CSV rows dealt out like users: every row in exactly one shard, all of them judged together at the merge")
    func csvRowsSplit() async throws {
        let folder = try temporaryFolder("shard-csv")
        defer { try? FileManager.default.removeItem(at: folder) }
        try "login\nann\nbob\ncid\ndee\neve\n".write(
            to: folder.appendingPathComponent("accounts.csv"), atomically: true, encoding: .utf8)
        let text = """
            name: rows
            users: {csv: accounts.csv}
            phases:
              - name: look
                executor: barrier
                request: {name: health, path: "/health?who=${login}"}
            invariants:
              - {name: every row once, check: "len(login) == 5"}
            """
        try text.write(to: folder.appendingPathComponent("rows.yaml"), atomically: true, encoding: .utf8)
        let scenario = try ScenarioFile(contentsOf: folder.appendingPathComponent("rows.yaml"))
        try await LiveServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let plans = try (0..<2).map { index in
                try ShardPlan(
                    shard: try Shard(index: index, count: 2), scenario: scenario, prepared: nil, startAt: nil,
                    runID: "rows")
            }
            var shards: [RunReport] = []
            for plan in plans {
                shards.append(
                    await StressRun.execute(suite: "rows", target: target, thresholds: [], runID: "rows") { report in
                        try await ScenarioRunner(scenario, context: SuiteContext(target: target), shard: plan)
                            .run(into: &report)
                    })
            }
            // Shard 0 has rows 0, 2, 4; shard 1 rows 1 and 3.
            #expect(
                shards.map { $0.shard?.history["login"] ?? [] } == [
                    [#""ann""#, #""cid""#, #""eve""#], [#""bob""#, #""dee""#],
                ])
            #expect(shards.map { $0.phases.first?.overall.requests ?? 0 } == [3, 2])
            let merged = try await ShardedRun.merge(
                shards, thresholds: [], force: false, allowMissing: false, target: target, prepared: nil)
            #expect(merged.outcome == .passed && merged.invariants.map(\.passed) == [true], "\(merged.reasons)")
        }
    }

    @Test("a prepared run past 1 MiB, or of another scenario, is refused in one line")
    func preparedRunBounds() throws {
        let scenario = try BundledScenario.race.load()
        let folder = try temporaryFolder("prepared")
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("big.json")
        try Data(repeating: 0x20, count: PreparedRun.bytesMax + 1).write(to: big)
        #expect(throws: ScenarioError.self) { try PreparedRun.read(path: big.path, for: scenario) }
        let other = folder.appendingPathComponent("other.json")
        try PreparedRun(runID: "o", scenario: try BundledScenario.orders.load(), values: [:], firstUser: nil).encoded()
            .write(to: other)
        do {
            _ = try PreparedRun.read(path: other.path, for: scenario)
            Issue.record("a prepared run of another scenario was taken")
        } catch {
            #expect(error.message.contains("was prepared for another scenario"), "\(error)")
        }
    }

    @Test("a prepared run read from a URL the shards can reach, as from a file")
    func preparedFromURL() async throws {
        let scenario = try BundledScenario.race.load()
        let prepared = PreparedRun(
            runID: "from-url", scenario: scenario, values: ["event": 7, "run": "from-url"], firstUser: nil)
        let body = try prepared.encoded()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Answering(path: "/runs/run.json", body: body))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let url = "http://127.0.0.1:\(channel.localAddress?.port ?? 0)/runs/run.json"
        let read = try await PreparedRun.load(url, for: scenario)
        #expect(read.runID == "from-url" && read.globals["event"] == 7)
        await #expect(throws: ScenarioError.self) {
            _ = try await PreparedRun.load(url.replacingOccurrences(of: "run.json", with: "none.json"), for: scenario)
        }
    }

    /// Runs `shards` shards of `scenario` at once, each as its own run, as separate machines would; each result
    /// goes through its JSON, as a file would.
    static func run(
        _ scenario: ScenarioFile, shards count: Int, target: LoadTarget, prepared: PreparedRun, startAt: Date?
    ) async throws -> [RunReport] {
        let plans = try (0..<count).map { index in
            try ShardPlan(
                shard: try Shard(index: index, count: count), scenario: scenario, prepared: prepared, startAt: startAt,
                runID: nil)
        }
        let reports = await withTaskGroup(of: RunReport.self) { group in
            for plan in plans {
                group.addTask {
                    await StressRun.execute(
                        suite: scenario.name, target: target, thresholds: [.failuresDefault],
                        endpoints: scenario.endpoints, runID: plan.runID
                    ) { report in
                        try await ScenarioRunner(scenario, context: SuiteContext(target: target), shard: plan)
                            .run(into: &report)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try reports.map { try decoder.decode(RunReport.self, from: try encoder.encode($0)) }
            .sorted { ($0.shard?.index ?? 0) < ($1.shard?.index ?? 0) }
    }

    static func merge(
        _ shards: [RunReport], target: LoadTarget, prepared: PreparedRun, allowMissing: Bool = false
    ) async throws -> RunReport {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try prepared.encoded().write(to: file)
        return try await ShardedRun.merge(
            shards, thresholds: [.failuresDefault], force: false, allowMissing: allowMissing, target: target,
            prepared: file.path)
    }
}

/// Answers everything 200, with a `Date` `skew` seconds ahead of this machine's clock; `frozen`, always the one it
/// had when made.
private final class SkewedDate: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let skew: TimeInterval
    private let formatter: DateFormatter

    private let frozenAt: Date?

    init(skew: TimeInterval, frozen: Bool = false) {
        self.skew = skew
        frozenAt = frozen ? Date() : nil
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let headers = HTTPHeaders([
            ("Date", formatter.string(from: (frozenAt ?? Date()).addingTimeInterval(skew))), ("Content-Length", "0"),
        ])
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Answers `GET path` with `body`, anything else 404.
private final class Answering: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let path: String
    let body: Data
    private var uri = ""

    init(path: String, body: Data) {
        self.path = path
        self.body = body
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end:
            let found = uri == path
            let bytes = found ? ByteBuffer(bytes: body) : ByteBuffer(string: "no")
            let headers = HTTPHeaders([("Content-Length", "\(bytes.readableBytes)")])
            let status: HTTPResponseStatus = found ? .ok : .notFound
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
