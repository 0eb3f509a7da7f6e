/// Small validation helpers shared by the domain's input types.
enum Validate {
    /// Checks that `value` has a length within `range`, counted in Unicode code points, as the OpenAPI document's
    /// `minLength` and `maxLength` count (JSON Schema's rule), so a length the document allows is one the service
    /// accepts.
    static func length(of value: String, field: String, in range: ClosedRange<Int>) throws(TurnstileError) {
        let count = value.unicodeScalars.count
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

extension Validate {
    /// Checks that an id sent in a body is positive.
    static func id(_ value: Int64, field: String) throws(TurnstileError) {
        if value < 1 {
            throw .validationFailed(field: field, detail: "must be a positive id, got \(value)")
        }
    }

    /// Checks an `Idempotency-Key` header, if one was sent.
    static func idempotencyKey(_ key: String?) throws(TurnstileError) {
        if let key {
            try length(of: key, field: "Idempotency-Key", in: 1...Limits.idempotencyKeyLengthMax)
        }
    }

    /// Checks a required text field: at most `lengthMax` long as sent, and not empty once trimmed; returns it
    /// trimmed.
    static func text(_ value: String, field: String, lengthMax: Int) throws(TurnstileError) -> String {
        try length(of: value, field: field, in: 0...lengthMax)
        let trimmed = value.trimmingWhitespace()
        try length(of: trimmed, field: field, in: 1...lengthMax)
        return trimmed
    }
}
