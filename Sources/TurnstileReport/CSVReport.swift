/// A run as CSV files a spreadsheet (or Python's `csv`) reads: the table of each phase's endpoints, the per-second
/// history, and the invariants. RFC 4180: a header row, comma-separated, fields with a comma, a quote or a line
/// break quoted (quotes doubled), CRLF line ends. A latency that was not measured is an empty cell, never 0.
public enum CSVReport {
    /// One file: its name in the folder, and its text.
    public struct File: Sendable, Equatable {
        public let name: String
        public let text: String
    }

    /// The files for `report`: `stats.csv`, `history.csv` and `invariants.csv`.
    public static func files(for report: RunReport) -> [File] {
        [stats(report), history(report), invariants(report)]
    }

    /// One row per phase and endpoint, plus each phase's `overall`: the console table's columns and more.
    static func stats(_ report: RunReport) -> File {
        var rows = [
            [
                "phase", "endpoint", "requests", "responses", "failures", "failure_percent", "rps", "min_us", "avg_us",
                "p50_us", "p90_us", "p95_us", "p99_us", "p99_9_us", "max_us", "statuses", "errors",
            ]
        ]
        for phase in report.phases {
            for (name, stats) in phase.endpoints.map({ ($0.name, $0) }) + [("overall", phase.overall)] {
                let summary = stats.summary(durationSeconds: phase.durationSeconds)
                let latency = ["min", "avg", "p50", "p90", "p95", "p99", "p99.9", "max"].map { name in
                    summary.latencyMicroseconds[name].map { number(($0 * 10).rounded() / 10) } ?? ""
                }
                rows.append(
                    [
                        phase.name, name, String(stats.requests),
                        String(stats.responses), String(stats.failures),
                        number((stats.failureRatio * 100_000).rounded() / 1000),
                        number((summary.rps * 10).rounded() / 10),
                    ] + latency + [
                        stats.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
                            .joined(separator: " "),
                        stats.errorCounts.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
                            .joined(separator: " "),
                    ])
            }
        }
        return File(name: "stats.csv", text: table(rows))
    }

    /// One row per phase and second, from the start of each phase: requests, failures and latency percentiles of
    /// every endpoint together (`endpoint` is `all`: the result keeps its timeline for the whole phase only).
    static func history(_ report: RunReport) -> File {
        var rows = [["phase", "second", "endpoint", "requests", "failures", "p50_us", "p95_us", "p99_us"]]
        for phase in report.phases {
            for second in phase.timeline {
                let measured = second.latency.count > 0
                rows.append(
                    [phase.name, String(second.second), "all", String(second.requests), String(second.failures)]
                        + [50.0, 95, 99].map { measured ? String(second.latency.percentile($0)) : "" })
            }
        }
        return File(name: "history.csv", text: table(rows))
    }

    /// One row per invariant: its phase, rule, what was expected and found, and whether it held.
    static func invariants(_ report: RunReport) -> File {
        var rows = [["phase", "rule", "expected", "actual", "passed"]]
        for invariant in report.invariants {
            rows.append(
                [invariant.phase, invariant.rule, invariant.expected, invariant.actual, String(invariant.passed)])
        }
        return File(name: "invariants.csv", text: table(rows))
    }

    static func table(_ rows: [[String]]) -> String {
        rows.map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }

    /// A field as RFC 4180 writes it.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingQuotes() + "\""
    }

    /// A number without a needless fraction: `12`, `12.5`, `0.125`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for character in self {
            if character == "\"" { out += "\"\"" } else { out.append(character) }
        }
        return out
    }
}
