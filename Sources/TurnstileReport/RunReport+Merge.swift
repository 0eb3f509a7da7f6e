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
}
