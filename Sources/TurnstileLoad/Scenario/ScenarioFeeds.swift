import NIOCore
import NIOHTTP1
import TurnstileReport

/// A scenario's live-feed subscribers while the phases run: opened before the first phase, a bounded number at a time
/// (as provisioning is, backing off when the target slows), not counted as load; judged and closed after the last.
final class ScenarioFeeds: Sendable {
    /// One open subscriber and what it received.
    struct Subscriber: Sendable {
        let connection: any FeedConnection
        let receipts: FeedTally.Receipts
    }

    struct Group: Sendable {
        let spec: ScenarioFile.Subscribers
        let tally: FeedTally
        let subscribers: [Subscriber]
        let connectLatency: LatencyHistogram
        let grace: TimeAmount
    }

    /// The events the phases' requests cause, shared with the recorders while the phases run.
    let ledger = FeedLedger()
    private let groups: [Group]

    private init(groups: [Group]) {
        self.groups = groups
    }

    /// How long the run waits after the last phase for deliveries still on their way, unless the file says.
    static let graceDefault = TimeAmount.seconds(5)

    /// Opens every group's subscribers; subscriber i takes user i mod the users' values for its templates. Nil when
    /// the scenario has none. A subscriber that cannot connect (after the retries set-up calls get) ends the run.
    static func open(
        _ specs: [ScenarioFile.Subscribers], users: [UserValues], globals: [String: ScenarioValue],
        context: SuiteContext
    ) async throws -> ScenarioFeeds? {
        guard !specs.isEmpty else { return nil }
        var groups: [Group] = []
        do {
            for spec in specs {
                groups.append(try await open(spec, users: users, globals: globals, context: context))
            }
        } catch {
            await LiveFeeds.closeAll(groups.flatMap { $0.subscribers.map(\.connection) })
            throw error
        }
        return ScenarioFeeds(groups: groups)
    }

    private static func open(
        _ spec: ScenarioFile.Subscribers, users: [UserValues], globals: [String: ScenarioValue], context: SuiteContext
    ) async throws -> Group {
        let globalScope = UserScope(user: [:], globals: globals)
        let count = try spec.count.evaluate(in: globalScope)
        guard case .int(let total) = count, (1...LoadLimits.subscribersMax).contains(total) else {
            throw ScenarioError(
                "subscribers '\(spec.name)': 'count' must be a whole number 1...\(LoadLimits.subscribersMax), not "
                    + count.quotedDescription, at: spec.position)
        }
        LoadLimits.raiseOpenFileLimit()
        let grace =
            try spec.grace.map { template throws(ScenarioError) in
                guard let time = TimeAmount(parsing: try template.render(in: globalScope)), time > .zero else {
                    throw ScenarioError(
                        "subscribers '\(spec.name)': 'grace' must be a time, e.g. 5s", at: spec.position)
                }
                return time
            } ?? graceDefault
        let key = spec.key
        let tally = FeedTally { message in
            guard let body = ScenarioValue(jsonBytes: message.readableBytesView),
                let value = try? key.evaluate(in: AnswerScope(body: body)), value != .null
            else { return nil }
            return value
        }
        context.progress?.note("subscribers '\(spec.name)': connecting \(total) (\(spec.kind.rawValue))…")
        let opened = try await context.forEach(total, label: "subscribers '\(spec.name)' connected") { index, _ in
            let scope = UserScope(user: users.isEmpty ? [:] : users[index % users.count], globals: globals)
            return try await subscribe(spec, index: index, scope: scope, tally: tally, context: context)
        }
        var connect = LatencyHistogram(precision: .coarse)
        for subscriber in opened { connect.record(microseconds: subscriber.connectMicroseconds) }
        return Group(
            spec: spec, tally: tally, subscribers: opened.map(\.subscriber), connectLatency: connect, grace: grace)
    }

    /// Opens one subscriber, trying again after a refused or reset connection as set-up calls are.
    private static func subscribe(
        _ spec: ScenarioFile.Subscribers, index: Int, scope: UserScope, tally: FeedTally, context: SuiteContext
    ) async throws -> (subscriber: Subscriber, connectMicroseconds: UInt64) {
        let url = try spec.url.render(in: scope)
        let (target, path) = try destination(of: url, on: context.target, spec: spec)
        var headers = HTTPHeaders()
        for header in spec.headers {
            headers.replaceOrAdd(name: header.name, value: try header.value.render(in: scope))
        }
        let subscribeMessage = try spec.subscribe?.render(in: scope)
        let receipts = FeedTally.Receipts()
        let onEvent: @Sendable (LiveFeedEvent) -> Void = { tally.record($0, into: receipts) }
        var attempt = 0
        while true {
            let eventLoop = context.group.next()
            let started = NIODeadline.now()
            do {
                let connection: any FeedConnection
                switch spec.kind {
                case .websocket:
                    connection = try await LiveFeedClient.subscribe(
                        to: target, path: path, on: eventLoop, timeouts: context.setupTimeouts,
                        options: .init(
                            headers: headers, subscribeMessage: subscribeMessage,
                            awaitsFirstMessage: spec.awaitsFirstMessage),
                        onEvent: onEvent)
                case .sse:
                    connection = try await SSEFeedClient.subscribe(
                        to: target, path: path, on: eventLoop, timeouts: context.setupTimeouts, headers: headers,
                        onEvent: onEvent)
                }
                let microseconds = UInt64(max(0, (NIODeadline.now() - started).nanoseconds / 1_000))
                return (Subscriber(connection: connection, receipts: receipts), microseconds)
            } catch let error as LoadError where [.connect, .reset].contains(error.kind) {
                attempt += 1
                guard attempt <= LoadLimits.setupRetriesMax else {
                    throw ScenarioError(
                        "subscriber \(index + 1) of '\(spec.name)' could not connect to \(url): \(error)",
                        at: spec.position)
                }
                try await Task.sleep(for: LoadLimits.setupRetryPause * attempt)
            } catch {
                throw ScenarioError(
                    "subscriber \(index + 1) of '\(spec.name)' could not subscribe to \(url): \(error)",
                    at: spec.position)
            }
        }
    }

    /// Where a subscriber's URL points: a path on the target, or a whole URL (its TLS checked as the target's is).
    private static func destination(
        of url: String, on target: LoadTarget, spec: ScenarioFile.Subscribers
    ) throws(ScenarioError) -> (LoadTarget, String) {
        guard url.contains("://") else { return (target, url.hasPrefix("/") ? url : "/" + url) }
        var mapped = url
        for (scheme, http) in [("ws://", "http://"), ("wss://", "https://")] where url.hasPrefix(scheme) {
            mapped = http + url.dropFirst(scheme.count)
        }
        do {
            return try LoadTarget.splitting(
                url: mapped, tls: target.tls?.options ?? TLSOptions(), http: HTTPOptions(version: .http1))
        } catch {
            throw ScenarioError("subscribers '\(spec.name)': \(error)", at: spec.position)
        }
    }

    /// Waits for the deliveries still on their way (every subscriber × every accepted event, or each group's grace),
    /// then judges what each group received and closes every subscriber.
    func finish(progress: ProgressReporter?) async -> [FeedReport] {
        var reports: [FeedReport] = []
        let events = ledger.acceptedCount
        for group in groups {
            progress?.note("subscribers '\(group.spec.name)': waiting for deliveries…")
            let complete = await group.tally.waitFor(events * group.subscribers.count, orFor: group.grace)
            group.tally.finish()
            var report = FeedReport(
                name: group.spec.name, kind: group.spec.kind.rawValue, subscribers: group.subscribers.count)
            report.connected = group.subscribers.count
            report.connectLatency = group.connectLatency
            report.gaveUpWaiting = !complete
            await group.tally.report(
                group.subscribers.map { ($0.receipts, $0.connection.channel.eventLoop) }, ledger: ledger,
                into: &report)
            reports.append(report)
            progress?.note(report.note)
        }
        await close()
        return reports
    }

    /// Closes every subscriber.
    func close() async {
        for group in groups { group.tally.finish() }
        await LiveFeeds.closeAll(groups.flatMap { $0.subscribers.map(\.connection) })
    }
}

extension FeedReport {
    /// The fields expressions read, `feeds.NAME.FIELD`; latencies in milliseconds.
    static let fields = [
        "subscribers", "connected", "dropped", "events", "expected", "delivered", "delivery_ratio", "out_of_order",
        "stray", "ignored", "p50_ms", "p95_ms", "p99_ms", "connect_p99_ms",
    ]

    /// The feed as expressions read it. A latency that was not measured is null, which no comparison accepts.
    var value: ScenarioValue {
        func milliseconds(_ histogram: LatencyHistogram, _ percentile: Double) -> ScenarioValue {
            histogram.isEmpty ? .null : .double(Double(histogram.percentile(percentile)) / 1_000)
        }
        return .object([
            "subscribers": .int(subscribers), "connected": .int(connected), "dropped": .int(dropped),
            "events": .int(events), "expected": .int(expected), "delivered": .int(delivered),
            "delivery_ratio": deliveryRatio.map { .double($0) } ?? .null, "out_of_order": .int(outOfOrder),
            "stray": .int(stray), "ignored": .int(ignored), "p50_ms": milliseconds(latency, 50),
            "p95_ms": milliseconds(latency, 95), "p99_ms": milliseconds(latency, 99),
            "connect_p99_ms": milliseconds(connectLatency, 99),
        ])
    }
}
