import Foundation

/// A run as CSV files a spreadsheet (or Python's `csv`) reads: the table of each phase's endpoints, the per-second
/// history, and the invariants. RFC 4180: a header row, comma-separated, fields with a comma, a quote or a line
/// break quoted (quotes doubled), CRLF line ends. A latency that was not measured is an empty cell, never 0.
public enum CSVReport {
    /// One file: its name in the folder, and its text.
    public struct File: Sendable, Equatable {
        public let name: String
        public let text: String
    }

    /// The files for `report`: `stats.csv`, `history.csv` and `invariants.csv`, and `resources.csv` when the
    /// target's resources were watched.
    public static func files(for report: RunReport) -> [File] {
        [stats(report), history(report), invariants(report)]
            + (report.resources.map { [resources($0, of: report)] } ?? [])
            + (report.faults.isEmpty ? [] : [faults(report)])
    }

    /// Two runs side by side (`turnstile report compare --csv`): a row per phase and endpoint with each run's
    /// figures (latencies in microseconds, failures in percent) and which did better; a figure a run lacks is empty.
    public static func comparison(_ comparison: RunComparison) -> File {
        var rows = [
            [
                "phase", "endpoint", "a_rps", "b_rps", "a_failure_percent", "b_failure_percent", "a_p50_us", "b_p50_us",
                "a_p95_us", "b_p95_us", "a_p99_us", "b_p99_us", "better",
            ]
        ]
        for row in comparison.rows {
            func figures(_ value: (RunComparison.Measures) -> Double?) -> [String] {
                [row.a, row.b].map { side in side.flatMap(value).map { number(($0 * 1000).rounded() / 1000) } ?? "" }
            }
            rows.append(
                [row.phase, row.endpoint] + figures { $0.rps } + figures { $0.failureRatio * 100 }
                    + figures { $0.p50.map { Double($0) } } + figures { $0.p95.map { Double($0) } }
                    + figures { $0.p99.map { Double($0) } } + [row.better.map { $0 == .a ? "a" : "b" } ?? ""])
        }
        return File(name: "compare.csv", text: table(rows))
    }

    /// One row per fault, window and endpoint (and `all`, every endpoint together): when the fault was on, its first
    /// success and recovery after it, and what the window's requests met. A time or latency not measured is empty.
    static func faults(_ report: RunReport) -> File {
        var rows = [
            [
                "fault", "kind", "phase", "began_s", "ended_s", "first_success_s", "recovery_s", "window", "from_s",
                "to_s", "endpoint", "requests", "failures", "failure_percent", "p50_us", "p95_us", "p99_us",
                "longest_us", "window_first_success_s", "statuses", "errors",
            ]
        ]
        func seconds(_ value: Double?) -> String { value.map { number(($0 * 1000).rounded() / 1000) } ?? "" }
        for fault in report.faults {
            let head = [
                fault.name, fault.kind, fault.phase, seconds(fault.began), seconds(fault.ended),
                seconds(fault.firstSuccessSeconds),
                fault.ended == nil ? "" : fault.recoverySeconds.map { seconds($0) } ?? "never",
            ]
            for window in fault.windows {
                for endpoint in window.endpoints + [window.overall] {
                    let latency = [50.0, 95, 99].map {
                        endpoint.latency.isEmpty ? "" : String(endpoint.latency.percentile($0))
                    }
                    rows.append(
                        head + [
                            window.name, seconds(window.from), seconds(window.to), endpoint.name,
                            String(endpoint.requests), String(endpoint.failures),
                            endpoint.failureRatio.map { number(($0 * 100_000).rounded() / 1000) } ?? "",
                        ] + latency + [
                            endpoint.requests == 0 ? "" : String(endpoint.longestMicroseconds),
                            seconds(endpoint.firstSuccessSeconds), tally(endpoint.statuses), tally(endpoint.errors),
                        ])
                }
            }
        }
        return File(name: "faults.csv", text: table(rows))
    }

    /// One row per sample of the target's resources: seconds since the run started, the process's CPU, memory, open
    /// files and threads, and a column per watched series. A value not sampled is an empty cell.
    static func resources(_ resources: ResourceTimeline, of report: RunReport) -> File {
        let series = resources.seriesNames
        let others = resources.otherProcesses
        var rows = [
            ["second", "cpu_percent", "resident_bytes", "open_files", "threads"]
                + others.flatMap { ["\($0): cpu_percent", "\($0): resident_bytes"] } + series
        ]
        for sample in resources.samples {
            let second = (sample.at.timeIntervalSince(report.startedAt) * 1000).rounded() / 1000
            let cpu = sample.cpuPercent.map { number(($0 * 10).rounded() / 10) } ?? ""
            let process: [String] = [
                sample.residentBytes.map { String($0) } ?? "", sample.openFiles.map { String($0) } ?? "",
                sample.threads.map { String($0) } ?? "",
            ]
            let metrics: [String] = series.map { name in sample.metrics[name].map(number) ?? "" }
            let otherUsage: [String] = others.flatMap { label -> [String] in
                let usage = sample.processes[label]
                return [
                    usage?.cpuPercent.map { number(($0 * 10).rounded() / 10) } ?? "",
                    usage?.residentBytes.map { String($0) } ?? "",
                ]
            }
            rows.append([number(second), cpu] + process + otherUsage + metrics)
        }
        return File(name: "resources.csv", text: table(rows))
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
                        tally(stats.statusCounts), tally(stats.errorCounts),
                    ])
            }
        }
        return File(name: "stats.csv", text: table(rows))
    }

    /// One row per phase, second and endpoint, from the start of each phase: every endpoint together first (`all`),
    /// then each endpoint that had a request end in that second, with its requests, failures, latency percentiles,
    /// status codes and errors.
    static func history(_ report: RunReport) -> File {
        var rows = [
            [
                "phase", "second", "endpoint", "requests", "failures", "p50_us", "p95_us", "p99_us", "statuses",
                "errors",
            ]
        ]
        for phase in report.phases {
            for second in phase.timeline {
                for (name, counts) in [("all", second.total)] + second.endpoints.sorted(by: { $0.key < $1.key }) {
                    let measured = counts.latency.count > 0
                    rows.append(
                        [phase.name, String(second.second), name, String(counts.requests), String(counts.failures)]
                            + [50.0, 95, 99].map { measured ? String(counts.latency.percentile($0)) : "" }
                            + [tally(counts.statuses), tally(counts.errors)])
                }
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

    /// Counts by key as one field: `200:12 409:3`.
    static func tally(_ counts: [String: UInt64]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
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
