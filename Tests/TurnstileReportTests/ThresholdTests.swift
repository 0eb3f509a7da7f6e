import Foundation
import Testing
import TurnstileReport

@Suite("Thresholds")
struct ThresholdTests {
    @Test(
        "valid thresholds parse",
        arguments: [
            ("p95<500ms", nil, Threshold.Metric.latencyPercentile(95), Threshold.Comparison.below, 500_000.0),
            ("book:p99<=1s", "book", .latencyPercentile(99), .atMost, 1_000_000),
            ("p99.9<250us", nil, .latencyPercentile(99.9), .below, 250),
            ("errors<1%", nil, .failurePercent, .below, 1),
            ("rps>=100", nil, .requestsPerSecond, .atLeast, 100),
            ("avg < 20ms", nil, .latencyAverage, .below, 20_000),
            ("max<2s", nil, .latencyMax, .below, 2_000_000),
            ("dropped<5%", nil, .droppedPercent, .below, 5),
        ] as [(String, String?, Threshold.Metric, Threshold.Comparison, Double)])
    func parses(
        _ text: String, endpoint: String?, metric: Threshold.Metric, comparison: Threshold.Comparison, limit: Double
    )
        throws
    {
        let threshold = try Threshold(parsing: text)
        #expect(threshold.endpoint == endpoint)
        #expect(threshold.metric == metric)
        #expect(threshold.comparison == comparison)
        #expect(threshold.limit == limit)
    }

    @Test("endpoint names may hold spaces; a latency limit with no responses fails")
    func spacesAndEmptiness() throws {
        let threshold = try Threshold(parsing: "GET /health : p95 < 1ms")
        #expect(threshold.endpoint == "GET /health" && threshold.limit == 1_000)
        var timedOut = EndpointStats(name: "GET /health")
        timedOut.record(error: .timeout)
        var report = RunReport(suite: "url", target: "http://127.0.0.1:1")
        report.phases = [
            PhaseReport(
                name: "url", executor: "closed", startedAt: Date(), durationSeconds: 1, users: 1, endpoints: [timedOut],
                timeline: [])
        ]
        let results = ThresholdSet.judge([threshold], on: report)
        #expect(results.count == 1 && !results[0].passed && results[0].actual == "no responses")
    }

    @Test(
        "invalid thresholds are refused with a reason",
        arguments: [
            "p95", "p95<500", "p0<1ms", "p101<1ms", "errors<1", "lag<1ms", ":p95<1ms", "rps>many", "dropped<1",
            "book:dropped<1%",
        ])
    func refuses(_ text: String) {
        #expect(throws: ThresholdError.self) { try Threshold(parsing: text) }
    }

    @Test("thresholds are judged per phase, overall or per endpoint")
    func judging() throws {
        var book = EndpointStats(name: "book")
        var browse = EndpointStats(name: "browse")
        for value in 1...100 { book.record(status: 201, microseconds: UInt64(value) * 1_000) }
        for _ in 1...100 { browse.record(status: 200, microseconds: 500) }
        browse.record(error: .timeout)
        var report = RunReport(suite: "mixed", target: "http://127.0.0.1:1")
        report.phases = [
            PhaseReport(
                name: "mixed", executor: "closed", startedAt: Date(), durationSeconds: 2, users: 1,
                endpoints: [book, browse], timeline: [])
        ]
        let results = ThresholdSet.judge(
            try ["book:p95<100ms", "book:p95<50ms", "errors<1%", "rps>100", "nowhere:p95<1ms"].map {
                try Threshold(parsing: $0)
            }, on: report)
        // The unknown endpoint fails first; then, for the one phase, the four others in order.
        #expect(results.map(\.passed) == [false, true, false, true, true])
        #expect(results[0].actual == "no endpoint named 'nowhere'")
        #expect(results[2].actual.hasPrefix("95.0"), "HDR reports within 0.1 %: \(results[2].actual)")
    }

    @Test(
        "an open phase that dropped arrivals fails dropped<1% unless the run names its own limit; others are not held")
    func droppedArrivals() throws {
        var answered = EndpointStats(name: "glance")
        for _ in 1...90 { answered.record(status: 200, microseconds: 500) }
        func phase(_ name: String, _ executor: String, dropped: UInt64?) -> PhaseReport {
            PhaseReport(
                name: name, executor: executor, startedAt: Date(), durationSeconds: 1, users: 4, endpoints: [answered],
                timeline: [], droppedStarts: dropped)
        }
        var report = RunReport(suite: "url", target: "http://127.0.0.1:1")
        report.phases = [
            phase("open", "open", dropped: 10), phase("steady", "open", dropped: 0),
            phase("closed", "closed", dropped: nil),
        ]

        let byDefault = ThresholdSet.judge([], on: report)
        #expect(byDefault.map(\.threshold) == ["dropped<1%", "dropped<1%"])
        #expect(byDefault.map(\.phase) == ["open", "steady"] && byDefault.map(\.passed) == [false, true])
        #expect(byDefault[0].actual.hasPrefix("10.0"), "10 of 100 arrivals: \(byDefault[0].actual)")
        report.thresholds = byDefault
        #expect(report.outcome == .thresholdBreached)

        let named = ThresholdSet.judge([try Threshold(parsing: "dropped<20%")], on: report)
        #expect(named.map(\.threshold) == ["dropped<20%", "dropped<20%"] && named.allSatisfy(\.passed))
    }
}
