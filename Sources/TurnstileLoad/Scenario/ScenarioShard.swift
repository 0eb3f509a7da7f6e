import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport

/// One shard of a run spread over several machines: shard `index` of `count`, counted from 0 as Kubernetes Indexed
/// Jobs count (`JOB_COMPLETION_INDEX`).
///
/// Users are dealt out in turn: shard K has users K, K+N, K+2N, … So `${user}`, user names and CSV rows stay unique
/// over the whole run, and "the first M users" of a phase (`users: M`) are spread over every shard, about M/N each.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The most shards of one run: each reads the others' results once, at the merge.
    public static let countMax = 1_000

    public init(index: Int, count: Int) throws(ScenarioError) {
        guard (1...Self.countMax).contains(count), (0..<count).contains(index) else {
            throw ScenarioError(
                "a shard is K/N with N from 1 to \(Self.countMax) and K from 0 to N−1 (counted from 0, as "
                    + "JOB_COMPLETION_INDEX is), not \(index)/\(count)")
        }
        self.index = index
        self.count = count
    }

    /// `K/N`: shard K (from 0) of N.
    public init(parsing text: String) throws(ScenarioError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ScenarioError("--shard takes K/N, e.g. 0/4 for the first of four shards, not '\(text)'")
        }
        try self.init(index: index, count: count)
    }

    /// The shard the environment names, if it names one: `TURNSTILE_SHARD=K/N`, or `TURNSTILE_SHARDS=N` with the
    /// index from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job's) or `TURNSTILE_SHARD_INDEX`.
    public static func fromEnvironment(_ environment: [String: String]) throws(ScenarioError) -> Shard? {
        if let text = environment["TURNSTILE_SHARD"], !text.isEmpty { return try Shard(parsing: text) }
        guard let countText = environment["TURNSTILE_SHARDS"], !countText.isEmpty else { return nil }
        guard let count = Int(countText) else {
            throw ScenarioError("TURNSTILE_SHARDS must be a number, not '\(countText)'")
        }
        guard let indexText = environment["JOB_COMPLETION_INDEX"] ?? environment["TURNSTILE_SHARD_INDEX"],
            let index = Int(indexText)
        else {
            throw ScenarioError(
                "TURNSTILE_SHARDS is set, but neither JOB_COMPLETION_INDEX nor TURNSTILE_SHARD_INDEX gives this "
                    + "shard's index")
        }
        return try Shard(index: index, count: count)
    }

    /// The users of `total` this shard has, by their index in the whole run.
    public func users(of total: Int) -> [Int] { Array(stride(from: index, to: total, by: count)) }

    /// How many of this shard's users are among the whole run's first `total`.
    public func share(of total: Int) -> Int { total > index ? (total - index + count - 1) / count : 0 }

    public var description: String { "\(index)/\(count)" }
}

/// A run's set-up, done once for all its shards by `turnstile stress prepare`: its id, its values (the variables,
/// and what the set-up captured: the event's id, the product's sku), and the first user's values when the set-up
/// was sent as that user. Every shard started with it races the same things.
public struct PreparedRun: Codable, Sendable {
    public var runID: String
    /// The scenario's name, and a digest of its text: a shard of another scenario is refused.
    public var scenario: String
    public var digest: String
    /// Every value the phases read from the run, as JSON text by name.
    public var values: [String: String]
    /// The first user's values (as JSON text), when set-up needed that user: the shard that has user 0 takes them
    /// rather than provisioning it again.
    public var firstUser: [String: String]?
    public var preparedAt: Date

    public init(
        runID: String, scenario: ScenarioFile, values: [String: ScenarioValue], firstUser: [String: ScenarioValue]?,
        preparedAt: Date = Date()
    ) {
        self.runID = runID
        self.scenario = scenario.name
        digest = scenario.digest
        self.values = values.mapValues(\.json)
        self.firstUser = firstUser?.mapValues(\.json)
        self.preparedAt = preparedAt
    }

    /// The values, read back.
    public var globals: [String: ScenarioValue] { Self.decode(values) }
    public var firstUserValues: [String: ScenarioValue]? { firstUser.map(Self.decode) }

    static func decode(_ texts: [String: String]) -> [String: ScenarioValue] {
        texts.compactMapValues { ScenarioValue(jsonBytes: Array($0.utf8)) }
    }

    /// Reads `run.json`, refusing one that is not a prepared run or belongs to another scenario.
    public static func read(_ data: Data, name: String, for scenario: ScenarioFile) throws(ScenarioError) -> PreparedRun
    {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let prepared: PreparedRun
        do { prepared = try decoder.decode(PreparedRun.self, from: data) } catch {
            throw ScenarioError("\(name) is not a prepared run (written by `turnstile stress prepare`): \(error)")
        }
        guard prepared.digest == scenario.digest else {
            throw ScenarioError(
                "\(name) was prepared for another scenario ('\(prepared.scenario)', or a different text of it): "
                    + "prepare again with this file")
        }
        return prepared
    }

    /// Reads the prepared run at `path` (at most ``bytesMax``).
    public static func read(path: String, for scenario: ScenarioFile) throws(ScenarioError) -> PreparedRun {
        try read(
            try ScenarioFile.readBytes(URL(fileURLWithPath: path), name: path, bytesMax: bytesMax), name: path,
            for: scenario)
    }

    /// Reads the prepared run from a file, or from an `http://` or `https://` URL the shards can all reach (an object
    /// store's, a web server's).
    public static func load(
        _ location: String, for scenario: ScenarioFile, tls: TLSOptions = TLSOptions()
    ) async throws(ScenarioError) -> PreparedRun {
        guard location.hasPrefix("http://") || location.hasPrefix("https://") else {
            return try read(path: location, for: scenario)
        }
        do {
            let target = try LoadTarget(parsing: location, tls: tls)
            let session = SuiteContext(target: target).setupSession()
            let answer = try await session.call(
                LoadRequest(endpoint: "prepared run", method: .GET, path: ""), expecting: .success, retry: true)
            guard answer.body.readableBytes <= bytesMax else {
                throw ScenarioError("\(location) is larger than \(bytesMax / 1024) KiB: not a prepared run")
            }
            return try read(Data(answer.body.readableBytesView), name: location, for: scenario)
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw ScenarioError("cannot read the prepared run at \(location): \(error)")
        }
    }

    /// The largest prepared run read: a page of values.
    public static let bytesMax = 1 << 20

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}

/// How one shard runs: which it is, the prepared set-up it shares, and the wall-clock instant its first phase
/// starts (a barrier's release).
public struct ShardPlan: Sendable {
    public let shard: Shard
    public let prepared: PreparedRun?
    public let startAt: Date?
    /// The run's id: the prepared run's, or the one every shard was given (`--run-id`).
    public let runID: String

    /// Refuses what a shard of `scenario` cannot do (see ``ScenarioRunner/checkShardable(_:prepared:)``), and a run
    /// without one id.
    public init(
        shard: Shard, scenario: ScenarioFile, prepared: PreparedRun?, startAt: Date?, runID: String?
    ) throws(ScenarioError) {
        try ScenarioRunner.checkShardable(scenario, prepared: prepared)
        guard let id = prepared?.runID ?? runID else {
            throw ScenarioError(
                "the shards of a run need one run id: start each with --prepared run.json (from `turnstile stress "
                    + "prepare`), or with the same --run-id")
        }
        if let prepared, let runID, runID != prepared.runID {
            throw ScenarioError("--run-id \(runID) is not the prepared run's (\(prepared.runID)): leave it out")
        }
        self.shard = shard
        self.prepared = prepared
        self.startAt = startAt
        self.runID = id
    }
}

extension ScenarioRunner {
    /// Refuses what a shard cannot do alone: a set-up without `prepare` (each shard would create its own event, and
    /// the race would be N small ones), and the processes, faults and feeds one machine owns for the whole run.
    static func checkShardable(_ scenario: ScenarioFile, prepared: PreparedRun?) throws(ScenarioError) {
        if !scenario.setup.isEmpty, prepared == nil {
            throw ScenarioError(
                "\(scenario.file) has a set-up, which creates what the shards share: run `turnstile stress prepare "
                    + "\(scenario.file) --target URL --out run.json` once, then start every shard with --prepared run.json"
            )
        }
        let owned = [
            (scenario.processes.isEmpty, "processes"), (scenario.proxies.isEmpty, "proxies"),
            (scenario.faults.isEmpty, "faults"), (scenario.subscribers.isEmpty, "subscribers"),
        ].filter { !$0.0 }.map(\.1)
        guard owned.isEmpty else {
            throw ScenarioError(
                "\(scenario.file) has \(owned.joined(separator: " and ")), which one machine owns for the whole run: "
                    + "a sharded run cannot have them yet (run it unsharded)")
        }
    }

    /// What this shard carries to the merge: the run's values, and the values of the names the invariants read,
    /// each user's, with when each phase started.
    func shardRecord(_ plan: ShardPlan, state: RunState, clock: ShardRecord.ClockOffset?) -> ShardRecord {
        let names = scenario.judgedNames
        var record = ShardRecord(
            index: plan.shard.index, count: plan.shard.count, scenarioText: scenario.text,
            scenarioPath: scenario.folder.map {
                $0.appendingPathComponent((scenario.file as NSString).lastPathComponent).path
            },
            values: state.globals.mapValues(\.json),
            history: state.history.filter { names.contains($0.key) }.mapValues { $0.map(\.json) })
        record.starts = state.starts
        record.clock = clock
        return record
    }
}

extension ScenarioFile {
    /// A digest of the file's text, which shards and their prepared run must share.
    public var digest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Whether a request of its read-back is sent once, not per user: a sharded run's merge sends it.
    public var readsBackOnce: Bool { readback.contains { !$0.perUser } }

    /// The names the invariants, requirements and notes read: what the shards' per-user values must carry to the
    /// merge, and nothing else (a user's token stays on its shard).
    var judgedNames: Set<String> {
        var expressions: [ScenarioExpression] = []
        var templates: [ScenarioTemplate] = notes
        for invariant in invariants + requirements {
            expressions += [invariant.check, invariant.when].compactMap { $0 }
            templates += [invariant.name, invariant.phase].compactMap { $0 }
        }
        for template in templates {
            for part in template.parts {
                if case .expression(let expression) = part { expressions.append(expression) }
            }
        }
        return Set(expressions.flatMap(\.names).compactMap(\.name.first))
    }
}

extension ScenarioRunner {
    /// Provisions the first user when the set-up is sent as it, sends the set-up once, and returns what every shard
    /// of the run shares: `turnstile stress prepare`.
    public func prepare(runID: String) async throws -> PreparedRun {
        var state = RunState(globals: try variables(runID: runID))
        let asUser = !scenario.setup.isEmpty && (!scenario.users.provision.isEmpty || scenario.users.accounts != nil)
        if asUser { state.users = try await provisionedUsers(1, globals: state.globals) }
        let session = context.setupSession()
        for request in scenario.setup {
            try await callOnce(request, on: session, state: &state, what: "set-up")
        }
        return PreparedRun(runID: runID, scenario: scenario, values: state.globals, firstUser: state.users.first)
    }

    /// Judges a sharded run once, on the merged counts in `report`: the read-back sent once (as the prepared run's
    /// first user), each shard's per-user values, and every invariant. `firstUser` is the prepared run's.
    public func judgeShards(
        _ records: [ShardRecord], firstUser: [String: ScenarioValue]?, into report: inout RunReport
    ) async throws {
        guard let first = records.first else { return }
        var state = RunState(globals: PreparedRun.decode(first.values))
        state.users = [firstUser ?? [:]]
        for record in records.sorted(by: { $0.index < $1.index }) {
            for (name, values) in record.history {
                state.history[name, default: []] += values.compactMap { ScenarioValue(jsonBytes: Array($0.utf8)) }
            }
        }
        let session = context.setupSession()
        var readbackError: (any Error)?
        do {
            for request in scenario.readback where !request.perUser {
                try await callOnce(request, on: session, state: &state, what: "read-back")
            }
        } catch {
            readbackError = error
            if report.failure == nil { report.failure = StressRun.describe(error, target: context.target) }
        }
        try judge(
            globals: state.globals, history: state.history, phases: report.phases, readBack: readbackError == nil,
            into: &report)
    }
}

/// The merge of a run's results: the shards of a sharded scenario run judged as one, anything else added as
/// `RunReport.merged` adds it.
public enum ShardedRun {
    /// Merges `results`. Shards (results with a ``ShardRecord``) must all be there, of one scenario, none failed,
    /// each ready at the start instant (else the merged run could not be carried out, unless `allowMissing`); the
    /// read-back the file sends once is then sent to `target` as the prepared run's first user (`prepared`: its
    /// file), and every invariant judged on the merged counts and the shards' per-user values.
    public static func merge(
        _ results: [RunReport], thresholds: [Threshold], force: Bool, allowMissing: Bool, target: LoadTarget?,
        prepared: String?
    ) async throws -> RunReport {
        var results = results
        let sharded = try ShardSet.check(results, allowMissing: allowMissing)
        if let sharded { results = sharded.shards }
        guard !results.isEmpty else { throw MergeError(description: "no shard could be carried out") }
        var report = try RunReport.merged(results, thresholds: thresholds, force: force)
        guard let sharded else { return report }
        report.shard = nil
        report.notes = report.notes.filter { !$0.hasSuffix(ShardRecord.notJudgedHere) } + sharded.notes
        // The shards' own words name which shard failed; a shard's failure alone does not.
        report.failure = sharded.failure ?? report.failure
        guard sharded.isWhole else {
            report.notes.append("the invariants were not judged: the run is not whole")
            return report
        }
        let records = results.compactMap(\.shard)
        let record = records[0]
        let folder = record.scenarioPath.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }
        let scenario = try ScenarioFile(
            yaml: record.scenarioText, file: record.scenarioPath ?? "the shards' scenario", folder: folder)
        let run = try prepared.map { path throws(ScenarioError) in try PreparedRun.read(path: path, for: scenario) }
        if let run, run.runID != report.runID {
            throw ScenarioError("\(prepared!) is run \(run.runID)'s, not this one's (\(report.runID))")
        }
        guard let target = target ?? (scenario.readsBackOnce ? nil : try? LoadTarget(parsing: "http://127.0.0.1"))
        else {
            throw ScenarioError(
                "\(scenario.file) reads the target back once, after every shard: give the target with --target")
        }
        if run == nil, scenario.readsBackOnce, !scenario.users.headers.isEmpty {
            throw ScenarioError(
                "\(scenario.file) reads the target back once, as its first user: give that user with --prepared run.json"
            )
        }
        try await ScenarioRunner(scenario, context: SuiteContext(target: target)).judgeShards(
            records, firstUser: run?.firstUserValues, into: &report)
        return report
    }
}
