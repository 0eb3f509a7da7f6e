import Histogram

/// Latencies in microseconds, in an HDR histogram: constant memory, three significant digits, exact merging.
///
/// Encodes sparsely, as `[[value, count], …]` over the non-empty buckets: re-recording each bucket's value lands in the
/// same bucket, so a decoded histogram equals the original and shards merge exactly however they were carried.
///
/// A histogram is kept either dense (HdrHistogram's array of counts: 20 KB at two digits, 140 KB at three), to record
/// into, or packed (only its non-empty buckets), to keep: a ten-minute timeline holds thousands of per-second,
/// per-endpoint histograms, of which only the current second's are still being recorded. ``pack()`` packs one;
/// recording unpacks it again, and two packed histograms add without unpacking.
public struct LatencyHistogram: Sendable, Equatable {
    /// The largest latency tracked: anything slower is recorded as this (a minute).
    public static let microsecondsMax: UInt64 = 60_000_000

    /// Significant decimal digits kept: more costs memory and JSON size.
    public enum Precision: Int, Codable, Sendable {
        /// Two digits (1 %): for the per-second time series.
        case coarse = 2
        /// Three digits (0.1 %): for per-endpoint results.
        case fine = 3

        var digits: SignificantDigits { self == .coarse ? .two : .three }
    }

    private enum Storage: Sendable {
        case dense(Histogram<UInt64>)
        /// The non-empty buckets as (a value in the bucket, count), in ascending order of value.
        case packed([Bucket])
    }

    private struct Bucket: Sendable, Equatable {
        var value: UInt64
        var count: UInt64
    }

    private var storage: Storage
    private let precision: Precision

    /// An empty histogram.
    public init(precision: Precision = .fine) {
        self.precision = precision
        storage = .packed([])
    }

    public mutating func record(microseconds: UInt64) {
        withDense { _ = $0.record(Swift.min(Swift.max(microseconds, 1), Self.microsecondsMax)) }
    }

    /// Adds `other`'s counts. Two packed histograms of one precision add bucket by bucket and stay packed.
    public mutating func add(_ other: LatencyHistogram) {
        if case .packed(let mine) = storage, case .packed(let theirs) = other.storage, precision == other.precision {
            storage = .packed(Self.merged(mine, theirs))
            return
        }
        let theirs = other.buckets
        withDense { histogram in
            for bucket in theirs { _ = histogram.record(bucket.value, count: bucket.count) }
        }
    }

    /// Keeps only the non-empty buckets, until the next recording: for a histogram that is done being recorded.
    public mutating func pack() {
        if case .dense = storage { storage = .packed(buckets) }
    }

    public var count: UInt64 {
        switch storage {
        case .dense(let histogram): histogram.totalCount
        case .packed(let buckets): buckets.reduce(0) { $0 + $1.count }
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// The latency at `percentile` (0...100), in microseconds; 0 when empty.
    public func percentile(_ percentile: Double) -> UInt64 {
        isEmpty ? 0 : dense.valueAtPercentile(percentile)
    }

    public var minimum: UInt64 { isEmpty ? 0 : dense.min }
    public var maximum: UInt64 { isEmpty ? 0 : dense.max }
    public var mean: Double { isEmpty ? 0 : dense.mean }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.buckets == rhs.buckets
    }

    private var buckets: [Bucket] {
        switch storage {
        case .dense(let histogram):
            histogram.recordedValues().map { Bucket(value: $0.value, count: UInt64($0.count)) }
        case .packed(let buckets): buckets
        }
    }

    /// The histogram as HdrHistogram holds it, made from the buckets when packed.
    private var dense: Histogram<UInt64> {
        switch storage {
        case .dense(let histogram): return histogram
        case .packed(let buckets):
            var histogram = Self.emptyHistogram(precision)
            for bucket in buckets { _ = histogram.record(bucket.value, count: bucket.count) }
            return histogram
        }
    }

    /// Runs `body` on the dense histogram, unpacking it first if needed, without copying its counts.
    private mutating func withDense(_ body: (inout Histogram<UInt64>) -> Void) {
        var histogram = dense
        storage = .packed([])  // drops the stored reference, so `histogram` is the counts' only owner
        body(&histogram)
        storage = .dense(histogram)
    }

    private static func emptyHistogram(_ precision: Precision) -> Histogram<UInt64> {
        Histogram(highestTrackableValue: microsecondsMax, numberOfSignificantValueDigits: precision.digits)
    }

    /// Two packed bucket lists added: values present in both add their counts.
    private static func merged(_ lhs: [Bucket], _ rhs: [Bucket]) -> [Bucket] {
        var result: [Bucket] = []
        result.reserveCapacity(lhs.count + rhs.count)
        var (left, right) = (lhs.startIndex, rhs.startIndex)
        while left < lhs.endIndex || right < rhs.endIndex {
            if right == rhs.endIndex || (left < lhs.endIndex && lhs[left].value < rhs[right].value) {
                result.append(lhs[left])
                left += 1
            } else if left == lhs.endIndex || rhs[right].value < lhs[left].value {
                result.append(rhs[right])
                right += 1
            } else {
                result.append(Bucket(value: lhs[left].value, count: lhs[left].count + rhs[right].count))
                left += 1
                right += 1
            }
        }
        return result
    }
}

extension LatencyHistogram: Codable {
    private enum CodingKeys: String, CodingKey {
        case precision, buckets
    }

    /// Decodes packed: the buckets as recorded, each value moved to the one HdrHistogram reports for its bucket, so
    /// that packed lists from anywhere add value by value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(precision: try container.decode(Precision.self, forKey: .precision))
        var histogram = Self.emptyHistogram(precision)
        for pair in try container.decode([[UInt64]].self, forKey: .buckets) {
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .buckets, in: container, debugDescription: "each bucket is [value, count]")
            }
            _ = histogram.record(Swift.min(pair[0], Self.microsecondsMax), count: pair[1])
        }
        storage = .dense(histogram)
        pack()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(precision, forKey: .precision)
        try container.encode(buckets.map { [$0.value, $0.count] }, forKey: .buckets)
    }
}
