import Foundation
import Testing
import TurnstileReport

@Suite("Statistics")
struct StatisticsTests {
    @Test("a histogram survives JSON exactly, and merging shards equals recording everything in one")
    func histogramRoundTripAndMerge() throws {
        var all = LatencyHistogram()
        var shardA = LatencyHistogram()
        var shardB = LatencyHistogram()
        for value in stride(from: UInt64(1), through: 2_000_000, by: 997) {
            all.record(microseconds: value)
            if value % 2 == 0 { shardA.record(microseconds: value) } else { shardB.record(microseconds: value) }
        }
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(shardA))
        #expect(decoded == shardA)
        var merged = decoded
        merged.add(shardB)
        #expect(merged == all)
        #expect(merged.count == all.count)
        for percentile in [50.0, 90, 95, 99, 99.9] {
            #expect(merged.percentile(percentile) == all.percentile(percentile))
        }
    }

    @Test("a packed histogram reads, adds and records as the dense one it came from", arguments: [false, true])
    func packing(coarse: Bool) {
        let precision: LatencyHistogram.Precision = coarse ? .coarse : .fine
        var all = LatencyHistogram(precision: precision)
        var shardA = LatencyHistogram(precision: precision)
        var shardB = LatencyHistogram(precision: precision)
        for value in stride(from: UInt64(3), through: 900_000, by: 1_499) {
            all.record(microseconds: value)
            if value % 3 == 0 { shardA.record(microseconds: value) } else { shardB.record(microseconds: value) }
        }
        var packed = shardA
        packed.pack()
        #expect(packed == shardA && packed.count == shardA.count && packed.maximum == shardA.maximum)
        var packedB = shardB
        packedB.pack()
        packed.add(packedB)
        #expect(packed == all, "two packed histograms add bucket by bucket")
        // Up to the top bucket: its exact largest value is kept by a dense histogram only, as after a JSON round trip.
        for percentile in [0.0, 50, 90, 99] { #expect(packed.percentile(percentile) == all.percentile(percentile)) }
        packed.record(microseconds: 5)
        all.record(microseconds: 5)
        #expect(packed == all, "recording unpacks")
    }

    @Test("percentiles are within 0.1 % of the true value (three significant digits)")
    func precision() {
        var histogram = LatencyHistogram()
        for value in UInt64(1)...10_000 { histogram.record(microseconds: value * 100) }
        let p99 = Double(histogram.percentile(99))
        #expect(abs(p99 - 990_000) / 990_000 < 0.001)
        #expect(histogram.minimum == 100)
        #expect(abs(Double(histogram.maximum) - 1_000_000) / 1_000_000 < 0.001)
    }

    @Test("failures are errors and statuses the request did not expect: by default every status of 400 or more")
    func failures() {
        var stats = EndpointStats(name: "GET /nope")
        stats.record(status: 200, microseconds: 100)
        stats.record(status: 404, microseconds: 100)
        stats.record(status: 503, microseconds: 100)
        stats.record(error: .timeout)
        #expect(stats.requests == 4 && stats.failures == 3)

        var book = EndpointStats(name: "book", expected: .success(and: 409))
        for _ in 0..<6 { book.record(status: 201, microseconds: 100) }
        book.record(status: 409, microseconds: 100)
        book.record(status: 422, microseconds: 100)
        book.record(status: 503, microseconds: 100)
        book.record(error: .timeout)
        book.record(error: .reset)
        #expect(book.requests == 11)
        #expect(book.failures == 4, "the 409 is the expected refusal; 422, 503 and the two errors are failures")
        #expect(book.count(status: 409) == 1)

        let overall = EndpointStats.overall([stats, book])
        #expect(overall.failures == 7, "each endpoint's answers are judged by its own expected statuses")
    }

    @Test("expected statuses parse from the command line's form and print back the same")
    func statusSets() throws {
        let set = try StatusSet(parsing: "404,200-299, 301")
        #expect(set.description == "200-299,301,404")
        #expect(set.contains(204) && set.contains(404) && !set.contains(409) && !set.contains(500))
        #expect(StatusSet.success(and: 409).description == "200-299,409")
        for bad in ["", "2xx", "300-200", "99", "200-", "600"] {
            #expect(throws: StatusSetError.self) { try StatusSet(parsing: bad) }
        }
    }

    @Test("a run in which no request got an answer could not be carried out, and says why in one line")
    func unmeasured() {
        var refused = EndpointStats(name: "GET /health")
        for _ in 0..<80 { refused.record(error: .connect) }
        var report = RunReport(suite: "url", target: "http://127.0.0.1:9")
        report.phases = [
            PhaseReport(
                name: "url", executor: "closed", startedAt: Date(), durationSeconds: 2, users: 4, endpoints: [refused],
                timeline: [])
        ]
        let reason = report.unmeasuredReason(target: report.target)
        #expect(reason?.hasPrefix("nothing listens on http://127.0.0.1:9") == true)
        #expect(reason?.contains("\n") == false)

        var timedOut = EndpointStats(name: "book")
        timedOut.record(error: .timeout)
        timedOut.record(error: .connect)
        report.phases[0].endpoints = [timedOut]
        #expect(report.unmeasuredReason(target: report.target)?.contains("connect×1 timeout×1") == true)

        var answered = timedOut
        answered.record(status: 503, microseconds: 10)
        report.phases[0].endpoints = [answered]
        #expect(report.unmeasuredReason(target: report.target) == nil, "an answer, even a failing one, was measured")
    }

    @Test("phases from two shards add endpoint by endpoint and second by second")
    func phaseMerge() {
        func phase(_ requests: Int, status: Int) -> PhaseReport {
            var stats = EndpointStats(name: "book")
            var second = PhaseReport.Second(second: 0)
            for _ in 0..<requests {
                stats.record(status: status, microseconds: 1_000)
                second.requests += 1
                second.latency.record(microseconds: 1_000)
            }
            return PhaseReport(
                name: "race", executor: "barrier", startedAt: Date(timeIntervalSince1970: 0), durationSeconds: 1,
                users: requests, endpoints: [stats], timeline: [second], releaseSpreadMicroseconds: 500)
        }
        var merged = phase(3, status: 201)
        merged.add(phase(5, status: 409))
        #expect(merged.users == 8)
        #expect(merged.overall.count(status: 201) == 3 && merged.overall.count(status: 409) == 5)
        #expect(merged.timeline.map(\.requests) == [8])
        #expect(merged.releaseSpreadMicroseconds == 500)
    }

    @Test("a later round of the same phase adds its requests and its time, not its users")
    func phaseAppend() {
        func round(_ requests: Int, seconds: Double) -> PhaseReport {
            var stats = EndpointStats(name: "bid")
            for _ in 0..<requests { stats.record(status: 201, microseconds: 1_000) }
            return PhaseReport(
                name: "bids", executor: "barrier", startedAt: Date(timeIntervalSince1970: 0), durationSeconds: seconds,
                users: requests, endpoints: [stats], timeline: [])
        }
        var phase = round(100, seconds: 0.004)
        for _ in 0..<4 { phase.append(round(100, seconds: 0.004)) }
        #expect(phase.users == 100 && phase.overall.requests == 500)
        #expect(abs(phase.durationSeconds - 0.02) < 1e-9)
        #expect(abs(phase.rate(phase.overall) - 25_000) < 1e-6, "500 requests over the 20 ms the rounds took")
    }

    @Test("a report's outcome: broken invariant beats could not run beats breached threshold")
    func outcome() {
        var report = RunReport(suite: "race", target: "http://127.0.0.1:1")
        #expect(report.outcome == .passed)
        report.thresholds = [ThresholdResult(threshold: "p95<1ms", phase: "x", actual: "2ms", passed: false)]
        #expect(report.outcome == .thresholdBreached)
        report.failure = "connection refused"
        #expect(report.outcome == .couldNotRun)
        report.invariants = [.equal(11, 10, phase: "x", rule: "successes")]
        #expect(report.outcome == .invariantBroken, "an oversell seen before the run broke off is still reported")
        #expect(RunReport.Outcome.couldNotRun.rawValue == 3)
    }

    @Test("a phase's timeline survives its JSON form; a phase of one endpoint writes each second once")
    func timelineJSON() throws {
        let (one, two) = (
            CSVReportTests.counts(requests: 3, failures: 1, statuses: ["201": 2, "409": 1]),
            CSVReportTests.counts(requests: 1, failures: 0, statuses: ["200": 1])
        )
        var second = PhaseReport.Second(second: 0)
        second.endpoints = ["book": one, "look": two]
        second.addUpEndpoints()
        var phase = PhaseReport(
            name: "mixed", executor: "closed", startedAt: Date(), durationSeconds: 1, users: 1,
            endpoints: [EndpointStats(name: "book"), EndpointStats(name: "look")], timeline: [second])
        let decoded = try JSONDecoder().decode(PhaseReport.self, from: JSONEncoder().encode(phase))
        #expect(decoded.timeline == phase.timeline)
        phase.endpoints = [EndpointStats(name: "book")]
        second.endpoints = ["book": one]
        second.addUpEndpoints()
        phase.timeline = [second]
        let single = try JSONEncoder().encode(phase)
        #expect(String(decoding: single, as: UTF8.self).contains("\"endpoints\":{}"), "the second written once")
        #expect(try JSONDecoder().decode(PhaseReport.self, from: single).timeline == phase.timeline)
    }

    @Test("a report survives its JSON form")
    func reportJSON() throws {
        var report = RunReport(
            suite: "race", target: "http://127.0.0.1:8080", startedAt: Date(timeIntervalSince1970: 1_000))
        var stats = EndpointStats(name: "book")
        stats.record(status: 201, microseconds: 1_234)
        report.phases = [
            PhaseReport(
                name: "race 100→10", executor: "barrier", startedAt: Date(timeIntervalSince1970: 1_000),
                durationSeconds: 0.5, users: 1, endpoints: [stats], timeline: [])
        ]
        report.invariants = [.equal(1, 1, phase: "race 100→10", rule: "successes")]
        let json = try JSONReport.encode(report)
        let decoded = try JSONReport.decode(json)
        #expect(decoded.phases[0].endpoints == report.phases[0].endpoints)
        // Each endpoint carries its derived figures too, for readers that do not walk histogram buckets.
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        let phases = object?["phases"] as? [[String: Any]]
        let endpoint = (phases?.first?["endpoints"] as? [[String: Any]])?.first
        let summary = endpoint?["summary"] as? [String: Any]
        let latency = summary?["latencyMicroseconds"] as? [String: Double]
        #expect(Set(latency?.keys ?? [:].keys) == ["min", "avg", "p50", "p90", "p95", "p99", "p99.9", "max"])
        #expect(summary?["requests"] as? Int == 1)
        #expect(summary?["rps"] as? Double == 2, "one request over half a second")
        #expect(decoded.invariants == report.invariants)
        #expect(decoded.outcome == .passed)
        #expect(decoded.runID == report.runID && report.runID.count == 12)
        // The verdict comes first, with its exit code and reasons; the JSON is compact.
        let result = object?["result"] as? [String: Any]
        #expect(result?["passed"] as? Bool == true && result?["exitCode"] as? Int == 0)
        #expect((result?["reasons"] as? [String])?.isEmpty == true)
        #expect(!json.contains(UInt8(ascii: "\n")))

        report.invariants.append(.equal(11, 10, phase: "race 100→10", rule: "successes"))
        let failed = try JSONSerialization.jsonObject(with: JSONReport.encode(report)) as? [String: Any]
        let failedResult = failed?["result"] as? [String: Any]
        #expect(failedResult?["passed"] as? Bool == false && failedResult?["exitCode"] as? Int == 2)
        #expect(
            (failedResult?["reasons"] as? [String]) == [
                "invariant broken in race 100→10: successes: expected 10, got 11"
            ])
    }

    @Test("a latency that was not measured is never written as 0")
    func unmeasuredLatency() throws {
        var stats = EndpointStats(name: "GET /health")
        stats.record(error: .connect)
        let summary = stats.summary(durationSeconds: 1)
        #expect(summary.latencyMicroseconds.isEmpty)
        let phase = PhaseReport(
            name: "url", executor: "closed", startedAt: Date(), durationSeconds: 1, users: 1, endpoints: [stats],
            timeline: [])
        let table = ConsoleRenderer.phaseTable(phase)
        #expect(!table.contains("0µs"), "\(table)")
        #expect(table.contains("—"))
    }
}

@Suite("Merging shards")
struct MergeTests {
    private func shard(
        runID: String, suite: String = "mixed", p99Milliseconds: UInt64, thresholds: [String] = []
    )
        -> RunReport
    {
        var stats = EndpointStats(name: "book")
        for _ in 0..<99 { stats.record(status: 201, microseconds: 1_000) }
        stats.record(status: 201, microseconds: p99Milliseconds * 1_000)
        var report = RunReport(suite: suite, target: "http://127.0.0.1:1", runID: runID)
        report.phases = [
            PhaseReport(
                name: "mixed", executor: "closed", startedAt: Date(), durationSeconds: 1, users: 32,
                endpoints: [stats], timeline: [])
        ]
        report.thresholds = ThresholdSet.judge(thresholds.map { try! Threshold(parsing: $0) }, on: report)
        return report
    }

    @Test("results of different runs or suites are refused unless forced")
    func refusesMixtures() throws {
        #expect(throws: MergeError.self) {
            try RunReport.merged([shard(runID: "a", p99Milliseconds: 1), shard(runID: "b", p99Milliseconds: 1)])
        }
        #expect(throws: MergeError.self) {
            try RunReport.merged([
                shard(runID: "a", p99Milliseconds: 1), shard(runID: "a", suite: "race", p99Milliseconds: 1),
            ])
        }
        let forced = try RunReport.merged(
            [shard(runID: "a", p99Milliseconds: 1), shard(runID: "b", p99Milliseconds: 1)], force: true)
        #expect(forced.phases[0].users == 64)
        let shards = try RunReport.merged([
            shard(runID: "a", p99Milliseconds: 1), shard(runID: "a", p99Milliseconds: 1),
        ])
        #expect(shards.phases[0].overall.requests == 200)
    }

    @Test("every shard's thresholds are judged again on the merged data, and none is dropped")
    func rejudgesShardThresholds() throws {
        // Each shard alone passes max<50ms or not; merged, the slow shard's maximum is the whole run's.
        let fast = shard(runID: "r", p99Milliseconds: 2, thresholds: ["max<50ms"])
        let slow = shard(runID: "r", p99Milliseconds: 80, thresholds: ["max<50ms", "errors<1%"])
        #expect(fast.thresholds.allSatisfy(\.passed) && !slow.thresholds[0].passed)
        let merged = try RunReport.merged([fast, slow], thresholds: [try Threshold(parsing: "p50<5ms")])
        #expect(Set(merged.thresholds.map(\.threshold)) == ["p50<5ms", "max<50ms", "errors<1%"])
        #expect(merged.thresholds.first { $0.threshold == "max<50ms" }?.passed == false)
        #expect(merged.outcome == .thresholdBreached)
    }
}
