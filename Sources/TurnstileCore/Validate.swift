/// Small validation helpers shared by the domain's input types.
enum Validate {
    /// Checks that `value` has a length (in characters) within `range`.
    static func length(of value: String, field: String, in range: ClosedRange<Int>) throws(TurnstileError) {
        let count = value.count
        if count < range.lowerBound {
            let detail =
                range.lowerBound == 1
                ? "must not be empty" : "must be at least \(range.lowerBound) characters long"
            throw .validationFailed(field: field, detail: detail)
        }
        if count > range.upperBound {
            throw .validationFailed(field: field, detail: "must be at most \(range.upperBound) characters long")
        }
    }

    /// Checks that `value` lies within `range`.
    static func number(_ value: Int, field: String, in range: ClosedRange<Int>) throws(TurnstileError) {
        guard range.contains(value) else {
            throw .validationFailed(
                field: field,
                detail: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
            )
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
