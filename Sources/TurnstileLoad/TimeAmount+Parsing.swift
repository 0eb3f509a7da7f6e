import NIOCore

extension TimeAmount {
    /// Parses a length of time as people write it on a command line: `250us`, `500ms`, `10s`, `1.5s`, `2m`, `1h`,
    /// or `0`. Any other number needs its unit.
    public init?(parsing text: some StringProtocol) {
        if text == "0" {
            self = .zero
            return
        }
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3_600e9),
        ]
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }),
            let value = Double(String(text.dropLast(unit.suffix.count))), value >= 0
        else { return nil }
        self = .nanoseconds(Int64(value * unit.nanoseconds))
    }
}
