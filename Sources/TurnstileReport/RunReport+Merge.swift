/// Merging the shards of one run into one result, with exact global percentiles.
extension RunReport {
    /// The shards added into one report, and every threshold — each shard's own and `thresholds` — judged again on
    /// the merged whole (a shard's breach must not vanish, and a percentile is only true over all the data).
    ///
    /// Shards of one run share a run id and a suite; anything else is refused unless `force` is set, because adding
    /// unrelated runs would claim concurrency and percentiles that never happened.
    public static func merged(
        _ shards: [RunReport], thresholds: [Threshold] = [], force: Bool = false
    ) throws(MergeError) -> RunReport {
        guard var merged = shards.first else { throw MergeError(description: "nothing to merge: name result files") }
        if !force {
            let runs = Set(shards.map { "\($0.suite) run \($0.runID.isEmpty ? "(no id)" : $0.runID)" })
            guard runs.count == 1 else {
                throw MergeError(
                    description: "these results are not shards of one run (\(runs.sorted().joined(separator: ", "))): "
                        + "give every shard the same --run-id, or pass --force to add them anyway")
            }
        }
        for shard in shards.dropFirst() { merged.add(shard) }
        var all = thresholds
        for shard in shards {
            for result in shard.thresholds {
                guard let threshold = try? Threshold(parsing: result.threshold), !all.contains(threshold) else {
                    continue
                }
                all.append(threshold)
            }
        }
        merged.thresholds = ThresholdSet.judge(all, on: merged)
        return merged
    }
}

/// Results that cannot be merged.
public struct MergeError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// The shards of a sharded run (results with a ``ShardRecord``), checked before they are merged and judged as one.
public enum ShardSet {
    /// The shards to merge, in index order, with what the merged report must say about them: every shard of one
    /// scenario, none twice; a missing or failed shard makes the whole "could not be carried out" and not whole
    /// (its invariants cannot be judged on part of the counts) unless `allowMissing` (then it is left out, and
    /// named); a shard that was not ready at the start instant is named with how late it was, and the run could not
    /// be carried out as asked, though what it saw is still judged (an oversell seen is an oversell). Nil when the
    /// results are not shards (a plain merge).
    public static func check(
        _ results: [RunReport], allowMissing: Bool
    ) throws(MergeError) -> (shards: [RunReport], failure: String?, isWhole: Bool, notes: [String])? {
        let records = results.compactMap(\.shard)
        guard !records.isEmpty else { return nil }
        guard records.count == results.count else {
            throw MergeError(description: "these results mix shards of a sharded run with unsharded runs")
        }
        let count = records[0].count
        guard records.allSatisfy({ $0.count == count && $0.scenarioText == records[0].scenarioText }) else {
            throw MergeError(
                description: "these shards are not of one run: they differ in their number of shards or their scenario")
        }
        var seen = Set<Int>()
        for record in records where !seen.insert(record.index).inserted {
            throw MergeError(description: "shard \(record.index)/\(count) is given twice")
        }
        var notes: [String] = []
        var failures: [String] = []
        var isWhole = true
        let missing = (0..<count).filter { !seen.contains($0) }
        if !missing.isEmpty {
            let names = missing.map { "\($0)/\(count)" }.joined(separator: ", ")
            if allowMissing {
                notes.append("shards \(names) are missing; judged without them (--allow-missing)")
            } else {
                failures.append("shard\(missing.count == 1 ? "" : "s") \(names) missing: the run is not whole")
                isWhole = false
            }
        }
        var shards = results.sorted { $0.shard!.index < $1.shard!.index }
        for shard in shards {
            guard let failure = shard.failure else { continue }
            let record = shard.shard!
            if allowMissing {
                notes.append("shard \(record.index)/\(count) could not be carried out (\(failure)); left out")
            } else {
                failures.append("shard \(record.index)/\(count) could not be carried out: \(failure)")
                isWhole = false
            }
        }
        if allowMissing { shards.removeAll { $0.failure != nil } }
        let kept = shards.compactMap(\.shard)
        for record in kept {
            for start in record.starts where start.lateSeconds > 0 {
                failures.append(
                    "shard \(record.index)/\(count) was ready for '\(start.phase)' "
                        + "\(Format.microseconds(start.lateSeconds * 1e6)) after the start instant: "
                        + "its users were not released with the others'")
            }
        }
        notes += spread(kept)
        return (shards, failures.isEmpty ? nil : failures.joined(separator: "; "), isWhole, notes)
    }

    private static func signed(_ seconds: Double) -> String {
        (seconds < 0 ? "−" : "+") + Format.microseconds(abs(seconds) * 1e6)
    }

    /// For each phase every shard started at an instant: how far apart they started, by their own clocks, and how
    /// well their clocks agree (against the target's `Date`).
    static func spread(_ records: [ShardRecord]) -> [String] {
        var byPhase: [String: [(ShardRecord, ShardRecord.PhaseStart)]] = [:]
        for record in records {
            for start in record.starts { byPhase[start.phase, default: []].append((record, start)) }
        }
        return byPhase.keys.sorted().compactMap { phase in
            let starts = byPhase[phase]!
            guard starts.count > 1 else { return nil }
            let times = starts.map(\.1.at)
            var line =
                "\(phase): released by \(starts.count) shards within "
                + Format.microseconds((times.max()! - times.min()!) * 1e6) + " of each other by their own clocks"
            let clocks = starts.compactMap(\.0.clock)
            if clocks.count == starts.count {
                // Each clock against the target's Date: what shards share of that (a server that refreshes its Date
                // late) cancels out between them; what differs is how far apart their clocks are.
                let offsets = clocks.map(\.offset)
                let onTarget = zip(times, offsets).map { $0 + $1 }
                line +=
                    " and \(Format.microseconds((onTarget.max()! - onTarget.min()!) * 1e6)) by the target's; their clocks "
                    + "agree within \(Format.microseconds((offsets.max()! - offsets.min()!) * 1e6)), each read within ±"
                    + Format.microseconds(clocks.map(\.uncertainty).max()! * 1e6)
                    + " against the target's Date (offset \(signed(offsets.min()!)))"
            } else {
                line += "; the clocks were not compared (a target without a Date header)"
            }
            return line
        }
    }
}
