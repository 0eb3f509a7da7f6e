/// Number formatting shared by the renderers.
public enum Format {
    /// `850µs`, `12.3ms`, `1.25s`.
    public static func microseconds(_ value: Double) -> String {
        switch value {
        case ..<1_000: "\(Int(value.rounded()))µs"
        case ..<1_000_000: fixed(value / 1_000, digits: value < 100_000 ? 2 : 1) + "ms"
        default: fixed(value / 1_000_000, digits: 2) + "s"
        }
    }

    public static func microseconds(_ value: UInt64) -> String { microseconds(Double(value)) }

    /// `0.35%`.
    public static func percent(_ value: Double) -> String { fixed(value, digits: 2) + "%" }

    /// `1234.5/s`.
    public static func rate(_ value: Double) -> String { fixed(value, digits: 1) + "/s" }

    /// `12.3 MiB`: bytes in binary units.
    public static func bytes(_ value: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return fixed(scaled, digits: unit == 0 ? 0 : 1) + " " + units[unit]
    }

    /// A number with a fixed count of decimals, without Foundation's locale-dependent formatting.
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let fractionText = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}
