/// Two saved runs side by side, phase by phase and endpoint by endpoint: requests per second, failures and latency
/// percentiles of each, the change from the first to the second, and which is better. The load-testing guides' "with
/// the cache, without the cache" table, from two JSON results.
public struct RunComparison: Sendable {
    /// What the two runs are called in tables: their files' names, say.
    public let names: (a: String, b: String)
    public let rows: [Row]

    /// One endpoint of one phase, as each run measured it; nil where a run did not have it.
    public struct Row: Sendable, Equatable {
        public var phase: String
        public var endpoint: String
        public var a: Measures?
        public var b: Measures?

        /// Which run did better: `a`, `b`, or nil when neither clearly did (or one side is missing). Fewer
        /// failures decide first (by more than a percentage point); then a p95 lower by more than 5 %; then more
        /// requests per second by more than 5 %.
        public var better: Side? {
            guard let a, let b else { return nil }
            if abs(a.failureRatio - b.failureRatio) > 0.01 { return a.failureRatio < b.failureRatio ? .a : .b }
            if let p95a = a.p95, let p95b = b.p95, Self.differ(Double(p95a), Double(p95b)) {
                return p95a < p95b ? .a : .b
            }
            if Self.differ(a.rps, b.rps) { return a.rps > b.rps ? .a : .b }
            return nil
        }

        private static func differ(_ x: Double, _ y: Double) -> Bool {
            abs(x - y) > 0.05 * max(abs(x), abs(y))
        }
    }

    public enum Side: String, Sendable { case a, b }

    /// What a run measured of one endpoint; a latency not measured (no answer) is nil.
    public struct Measures: Sendable, Equatable {
        public var requests: UInt64
        public var rps: Double
        public var failureRatio: Double
        public var p50: UInt64?
        public var p95: UInt64?
        public var p99: UInt64?

        init(_ stats: EndpointStats, in phase: PhaseReport) {
            requests = stats.requests
            rps = phase.rate(stats)
            failureRatio = stats.failureRatio
            let latency = stats.latency
            (p50, p95, p99) =
                latency.isEmpty
                ? (nil, nil, nil) : (latency.percentile(50), latency.percentile(95), latency.percentile(99))
        }
    }

    /// The rows of `a` and `b`: the phases of both by name, in `a`'s order then `b`'s own, each endpoint and (where
    /// a phase has several) every endpoint together.
    public init(_ a: RunReport, _ b: RunReport, names: (a: String, b: String)) {
        self.names = names
        var phases = a.phases.map(\.name)
        for name in b.phases.map(\.name) where !phases.contains(name) { phases.append(name) }
        var rows: [Row] = []
        for name in phases {
            let (left, right) = (a.phases.first { $0.name == name }, b.phases.first { $0.name == name })
            var endpoints = left?.endpoints.map(\.name) ?? []
            for endpoint in right?.endpoints.map(\.name) ?? [] where !endpoints.contains(endpoint) {
                endpoints.append(endpoint)
            }
            func measures(_ phase: PhaseReport?, _ endpoint: String) -> Measures? {
                guard let phase else { return nil }
                if endpoint == "overall" { return Measures(phase.overall, in: phase) }
                return phase.endpoints.first { $0.name == endpoint }.map { Measures($0, in: phase) }
            }
            for endpoint in endpoints + (endpoints.count > 1 ? ["overall"] : []) {
                rows.append(
                    Row(phase: name, endpoint: endpoint, a: measures(left, endpoint), b: measures(right, endpoint)))
            }
        }
        self.rows = rows
    }

    /// Why `a` and `b` are not two runs of one test, if they are not: another suite or scenario, or no phase in
    /// common. Nil when they can be compared.
    public static func mismatch(_ a: RunReport, _ b: RunReport) -> String? {
        if a.suite != b.suite { return "one is a run of '\(a.suite)', the other of '\(b.suite)'" }
        if Set(a.phases.map(\.name)).isDisjoint(with: b.phases.map(\.name)) {
            return "they have no phase in common"
        }
        return nil
    }

    /// The change from `a` to `b` in percent, `+12.5%`; `—` when either is missing or `a` is zero.
    static func change(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, a != 0 else { return "—" }
        let percent = (b - a) / a * 100
        return (percent >= 0 ? "+" : "") + Format.fixed(percent, digits: 1) + "%"
    }

    /// The table's header and rows, as the console, the CSV and the HTML show them.
    public var table: (header: [String], rows: [[String]]) {
        let (a, b) = names
        let header = [
            "phase", "endpoint", "rps \(a)", "rps \(b)", "change", "fail \(a)", "fail \(b)", "p50 \(a)", "p50 \(b)",
            "change", "p95 \(a)", "p95 \(b)", "change", "p99 \(a)", "p99 \(b)", "change", "better",
        ]
        let rows = self.rows.map { row -> [String] in
            func latency(_ value: UInt64?) -> String { value.map(Format.microseconds) ?? "—" }
            func double(_ value: UInt64?) -> Double? { value.map(Double.init) }
            var cells = [row.phase, row.endpoint]
            cells += [
                row.a.map { Format.rate($0.rps) } ?? "—", row.b.map { Format.rate($0.rps) } ?? "—",
                Self.change(row.a?.rps, row.b?.rps),
                row.a.map { Format.percent($0.failureRatio * 100) } ?? "—",
                row.b.map { Format.percent($0.failureRatio * 100) } ?? "—",
            ]
            for percentile in [\Measures.p50, \Measures.p95, \Measures.p99] {
                let (x, y) = (row.a?[keyPath: percentile], row.b?[keyPath: percentile])
                cells += [latency(x), latency(y), Self.change(double(x), double(y))]
            }
            cells.append(row.better.map { $0 == .a ? a : b } ?? "—")
            return cells
        }
        return (header, rows)
    }
}
