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

extension Format {
    /// Text from a target's answers or a scenario's names made safe for a terminal: control characters but the line
    /// break, and the characters that reorder text on screen (bidirectional overrides), are written as visible
    /// escapes, `\x1B`, `\u{202E}`. No answer can then move the cursor, recolour the screen, set the window's title or
    /// hide what follows it.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnprintable) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isUnprintable(scalar) else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let escape =
                scalar.value <= 0xFF ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    private static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
