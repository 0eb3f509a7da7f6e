/// Renders a report as the plain-text tables printed at the end of a run.
public enum ConsoleRenderer {
    /// Every phase's endpoint table, then the invariants, the thresholds and the verdict.
    public static func render(_ report: RunReport) -> String {
        var out = ""
        for phase in report.phases {
            out += phaseTable(phase, drivers: drivers(of: report.suite)) + "\n"
        }
        for fault in report.faults {
            out += faultTable(fault) + "\n"
        }
        out += badInputTable(report.badInputs)
        if !report.invariants.isEmpty {
            out += "Invariants\n"
            out += table(
                header: ["", "phase", "rule", "expected", "actual"],
                rows: report.invariants.map {
                    [$0.passed ? "PASS" : "FAIL", $0.phase, $0.rule, $0.expected, $0.actual]
                })
            out += "\n"
        }
        if !report.thresholds.isEmpty {
            out += "Thresholds\n"
            out += table(
                header: ["", "phase", "threshold", "actual"],
                rows: report.thresholds.map { [$0.passed ? "PASS" : "FAIL", $0.phase, $0.threshold, $0.actual] })
            out += "\n"
        }
        for note in report.notes {
            out += "Note: \(note)\n"
        }
        if let failure = report.failure {
            out += "Could not run: \(failure)\n"
        }
        out += "Result: \(verdict(report.outcome)) (exit \(report.outcome.rawValue))\n"
        return out
    }

    /// The most failed bad inputs the console lists; the JSON and HTML have every case.
    static let badInputsListedMax = 40

    /// The bad inputs that failed (a 5xx, a hang, a crash), each with what it was and what came back.
    static func badInputTable(_ cases: [BadInputCase]) -> String {
        let failed = cases.filter(\.verdict.isFailure)
        guard !failed.isEmpty else { return "" }
        var out = "Bad inputs that failed (\(failed.count) of \(cases.count))\n"
        out += table(
            header: ["phase", "request", "input", "verdict", "status", "answer"],
            rows: failed.prefix(badInputsListedMax).map {
                [
                    $0.phase, $0.request, $0.input, $0.verdict.rawValue, $0.status.map(String.init) ?? "—",
                    $0.detail.count > 80 ? String($0.detail.prefix(80)) + "…" : $0.detail,
                ]
            })
        if failed.count > badInputsListedMax { out += "… and \(failed.count - badInputsListedMax) more in the JSON\n" }
        return out + "\n"
    }

    /// What a suite's `users` count: `url` drives connections, as wrk and hey do, not users with identities.
    public static func drivers(of suite: String) -> String {
        suite == "url" ? "connections" : "users"
    }

    public static func verdict(_ outcome: RunReport.Outcome) -> String {
        switch outcome {
        case .passed: "PASS"
        case .thresholdBreached: "FAIL: threshold breached"
        case .invariantBroken: "FAIL: invariant broken"
        case .couldNotRun: "ERROR: could not run"
        }
    }

    /// One phase: a line per endpoint and an overall line, then the phase's warnings. A latency that was not
    /// measured (no response) shows as `—`, never as a number.
    public static func phaseTable(_ phase: PhaseReport, drivers: String = "users") -> String {
        var title =
            "\(phase.name) — \(phase.executor), \(phase.users) \(drivers), "
            + "\(Format.fixed(phase.durationSeconds, digits: 2))s"
        if let release = phase.releaseSummary { title += ", \(release)" }
        if let late = phase.lateStarts, late > 0 { title += ", \(late) late starts" }
        if let dropped = phase.droppedStarts, dropped > 0 { title += ", \(dropped) dropped" }
        if let setup = phase.connectionSetup { title += "; \(setup)" }
        let rows = phase.endpointsWithOverall.map { endpoint -> [String] in
            let latency = endpoint.latency
            let measured = [
                latency.mean, Double(latency.percentile(50)), Double(latency.percentile(95)),
                Double(latency.percentile(99)), Double(latency.maximum),
            ].map { latency.isEmpty ? "—" : Format.microseconds($0) }
            return [
                endpoint.name, String(endpoint.requests), Format.rate(phase.rate(endpoint)),
                Format.percent(endpoint.failureRatio * 100),
            ] + measured + [statuses(endpoint)]
        }
        return title + "\n"
            + table(
                header: ["endpoint", "requests", "rps", "fail", "avg", "p50", "p95", "p99", "max", "statuses"],
                rows: rows)
            + phase.warnings.map { "Warning: \($0)\n" }.joined()
    }

    /// One fault: what it did and when, its windows endpoint by endpoint, how the target recovered, and what it ran.
    public static func faultTable(_ fault: FaultReport) -> String {
        var out = faultTitle(fault) + "\n"
        let rows = faultRows(fault)
        if !rows.isEmpty { out += table(header: faultHeader, rows: rows) }
        out += fault.log.map { "  \($0)\n" }.joined()
        return out
    }

    /// "Fault cut — outage on db (…), in load: 3.00s → 4.00s; first success 0.05s after, recovered 0.40s after".
    public static func faultTitle(_ fault: FaultReport) -> String {
        var title = "Fault \(fault.name) — \(fault.action), in \(fault.phase): "
        switch (fault.began, fault.ended) {
        case (nil, _): title += "never began"
        case (let began?, nil): title += "began at \(seconds(began)), never ended"
        case (let began?, let ended?):
            title +=
                "\(seconds(began)) → \(seconds(ended)); first success "
                + (fault.firstSuccessSeconds.map { "\(seconds($0)) after" } ?? "never")
                + ", recovered " + (fault.recoverySeconds.map { "\(seconds($0)) after" } ?? "never")
        }
        return title
    }

    static let faultHeader = [
        "window", "seconds", "endpoint", "requests", "fail", "p50", "p95", "p99", "longest", "statuses",
    ]

    /// A row per window and endpoint (and every endpoint together when there are several); a latency not measured
    /// is `—`.
    static func faultRows(_ fault: FaultReport) -> [[String]] {
        var rows: [[String]] = []
        for window in fault.windows {
            let span = "\(seconds(window.from))–\(seconds(window.to))"
            let endpoints = window.endpoints.count > 1 ? window.endpoints + [window.overall] : window.endpoints
            guard !endpoints.isEmpty else {
                rows.append([window.name, span, "(no requests)"] + Array(repeating: "", count: 7))
                continue
            }
            for (index, endpoint) in endpoints.enumerated() {
                let latency = endpoint.latency
                let measured = [50.0, 95, 99].map {
                    latency.isEmpty ? "—" : Format.microseconds(latency.percentile($0))
                }
                rows.append(
                    [
                        index == 0 ? window.name : "", index == 0 ? span : "", endpoint.name, String(endpoint.requests),
                        endpoint.failureRatio.map { Format.percent($0 * 100) } ?? "—",
                    ] + measured + [
                        endpoint.requests == 0 ? "—" : Format.microseconds(endpoint.longestMicroseconds),
                        tally(statuses: endpoint.statuses, errors: endpoint.errors),
                    ])
            }
        }
        return rows
    }

    /// `1.25s`.
    static func seconds(_ value: Double) -> String { Format.fixed(value, digits: 2) + "s" }

    /// `201×10 409×90 timeout×1`.
    static func statuses(_ stats: EndpointStats) -> String {
        tally(statuses: stats.statusCounts, errors: stats.errorCounts)
    }

    /// Status codes, then errors by kind, each sorted, as `201×3 409×7 timeout×1`.
    static func tally(statuses: [String: UInt64], errors: [String: UInt64]) -> String {
        (statuses.sorted { $0.key < $1.key } + errors.sorted { $0.key < $1.key }).map { "\($0.key)×\($0.value)" }
            .joined(separator: " ")
    }

    /// Left-aligned columns separated by two spaces.
    public static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
