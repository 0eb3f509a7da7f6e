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

    @Test("percentiles are within 0.1 % of the true value (three significant digits)")
    func precision() {
        var histogram = LatencyHistogram()
        for value in UInt64(1)...10_000 { histogram.record(microseconds: value * 100) }
        let p99 = Double(histogram.percentile(99))
        #expect(abs(p99 - 990_000) / 990_000 < 0.001)
        #expect(histogram.minimum == 100)
        #expect(abs(Double(histogram.maximum) - 1_000_000) / 1_000_000 < 0.001)
    }

    @Test("failures are errors and 5xx; 4xx answers are not failures")
    func failures() {
        var stats = EndpointStats(name: "book")
        for _ in 0..<6 { stats.record(status: 201, microseconds: 100) }
        stats.record(status: 409, microseconds: 100)
        stats.record(status: 503, microseconds: 100)
        stats.record(error: .timeout)
        stats.record(error: .reset)
        #expect(stats.requests == 10)
        #expect(stats.failures == 3)
        #expect(stats.failureRatio == 0.3)
        #expect(stats.count(status: 409) == 1)
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
        #expect(decoded.invariants == report.invariants)
        #expect(decoded.outcome == .passed)
    }
}
