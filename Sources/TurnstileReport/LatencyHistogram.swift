import Histogram

/// Latencies in microseconds, in an HDR histogram: constant memory, three significant digits, exact merging.
///
/// Encodes sparsely, as `[[value, count], …]` over the non-empty buckets: re-recording each bucket's value lands in the
/// same bucket, so a decoded histogram equals the original and shards merge exactly however they were carried.
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

    private var histogram: Histogram<UInt64>
    private let precision: Precision

    /// An empty histogram.
    public init(precision: Precision = .fine) {
        self.precision = precision
        histogram = Histogram(
            highestTrackableValue: Self.microsecondsMax, numberOfSignificantValueDigits: precision.digits)
    }

    public mutating func record(microseconds: UInt64) {
        _ = histogram.record(Swift.min(Swift.max(microseconds, 1), Self.microsecondsMax))
    }

    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    public var count: UInt64 { histogram.totalCount }
    public var isEmpty: Bool { histogram.totalCount == 0 }

    /// The latency at `percentile` (0...100), in microseconds; 0 when empty.
    public func percentile(_ percentile: Double) -> UInt64 {
        isEmpty ? 0 : histogram.valueAtPercentile(percentile)
    }

    public var minimum: UInt64 { isEmpty ? 0 : histogram.min }
    public var maximum: UInt64 { isEmpty ? 0 : histogram.max }
    public var mean: Double { isEmpty ? 0 : histogram.mean }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool {
        lhs.buckets == rhs.buckets
    }

    fileprivate var buckets: [[UInt64]] {
        histogram.recordedValues().map { [$0.value, UInt64($0.count)] }
    }
}

extension LatencyHistogram: Codable {
    private enum CodingKeys: String, CodingKey {
        case precision, buckets
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(precision: try container.decode(Precision.self, forKey: .precision))
        for pair in try container.decode([[UInt64]].self, forKey: .buckets) {
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .buckets, in: container, debugDescription: "each bucket is [value, count]")
            }
            _ = histogram.record(Swift.min(pair[0], Self.microsecondsMax), count: pair[1])
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(precision, forKey: .precision)
        try container.encode(buckets, forKey: .buckets)
    }
}
