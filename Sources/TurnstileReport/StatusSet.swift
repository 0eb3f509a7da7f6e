/// The HTTP statuses a request counts as expected, written as on the command line: `200-299,404`.
///
/// Any other status is a failure, as in k6: by default every status of 400 or more is one. A race's request adds
/// its expected refusal (`200-299,409`), because a 409 "sold out" is the answer the race is there to provoke.
public struct StatusSet: Sendable, Hashable, CustomStringConvertible, Codable {
    /// Inclusive ranges, sorted and merged, so equal sets compare equal.
    public let ranges: [ClosedRange<Int>]

    /// Every 2xx status: the default.
    public static let success = StatusSet(ranges: [200...299])

    public init(ranges: [ClosedRange<Int>]) {
        var merged: [ClosedRange<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    /// Every 2xx status and `statuses` besides.
    public static func success(and statuses: Int...) -> StatusSet {
        StatusSet(ranges: [200...299] + statuses.map { $0...$0 })
    }

    /// Parses `200-299,404`: statuses and ranges of statuses, comma-separated, each within 100...599.
    public init(parsing text: String) throws(StatusSetError) {
        var ranges: [ClosedRange<Int>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingWhitespace())
            }
            guard (1...2).contains(bounds.count), let low = bounds.first!, let high = bounds.last!,
                low <= high, (100...599).contains(low), (100...599).contains(high)
            else {
                throw StatusSetError(
                    description: "statuses '\(text)': use statuses and ranges within 100-599, e.g. 200-299,404")
            }
            ranges.append(low...high)
        }
        self.init(ranges: ranges)
    }

    public func contains(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }

    public var description: String {
        ranges.map { $0.count == 1 ? String($0.lowerBound) : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Statuses that could not be parsed.
public struct StatusSetError: Error, CustomStringConvertible, Equatable {
    public let description: String
}
