import Foundation

/// A validated request to open an account.
public struct Registration: Equatable, Sendable {
    /// The email address, trimmed and lower-cased so that `A@x.io` and `a@x.io` are one account.
    public let email: String
    public let username: String
    public let password: String

    /// Validates the raw fields of a registration.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` naming the first field that is wrong.
    public init(email: String, username: String, password: String) throws(TurnstileError) {
        // As sent, first: the OpenAPI document's maxLength counts the raw text.
        try Validate.length(of: email, field: "email", in: 0...Limits.emailLengthMax)
        try Validate.length(of: username, field: "username", in: 0...Limits.usernameLengthMax)
        try Self.refuseInvisibleCharacters(in: email.trimmingWhitespace(), field: "email")
        try Self.refuseInvisibleCharacters(in: username.trimmingWhitespace(), field: "username")
        let email = Self.normalizedEmail(email)
        try Validate.length(of: email, field: "email", in: 3...Limits.emailLengthMax)
        // Look-alike letters from other scripts (a Cyrillic `а` for a Latin `a`) would make a second account that
        // reads the same as the first: addresses are ASCII once normalised.
        guard email.unicodeScalars.allSatisfy(\.isASCII) else {
            throw .validationFailed(
                field: "email", detail: "must be a plain ASCII address such as ada@example.com (no look-alike letters)")
        }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace)
        else {
            throw .validationFailed(field: "email", detail: "must be an email address such as ada@example.com")
        }
        // One mailbox, one spelling: a quoted local part (`"ada"@example.com`, which mail delivers to ada) or an
        // escaped one would open a second account for the same person, so the local part is a plain dot-atom
        // (RFC 5322) and the domain a plain host name.
        guard Self.isDotAtom(parts[0]), parts[1].allSatisfy({ $0.isLetter || $0.isNumber || "-.".contains($0) }),
            !parts[1].contains("..")
        else {
            throw .validationFailed(
                field: "email",
                detail: "must be a plain address such as ada@example.com (no quotes, brackets or escapes)")
        }
        let username = username.trimmingWhitespace().precomposedStringWithCompatibilityMapping
        try Validate.length(of: username, field: "username", in: Limits.usernameLengthMin...Limits.usernameLengthMax)
        guard username.allSatisfy({ $0.isLetter || $0.isNumber || "_.-".contains($0) }) else {
            throw .validationFailed(field: "username", detail: "may hold only letters, digits, '_', '.' and '-'")
        }
        try Validate.length(of: password, field: "password", in: Limits.passwordLengthMin...Limits.passwordLengthMax)
        self.email = email
        self.username = username
        self.password = password
    }

    /// An email address as accounts are keyed: trimmed, NFKC-normalised (a fullwidth `ｋ` is a `k`, a decomposed `é`
    /// is one character) and lower-cased, so that `A@x.io`, `ａ@x.io` and `a@x.io` are one account.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingWhitespace().precomposedStringWithCompatibilityMapping.lowercased()
    }

    /// Whether `local` is a dot-atom: RFC 5322's `atext` characters in runs joined by single dots.
    private static func isDotAtom(_ local: Substring) -> Bool {
        let atext = "!#$%&'*+-/=?^_`{|}~"
        return local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { run in
            !run.isEmpty && run.allSatisfy { $0.isLetter || $0.isNumber || atext.contains($0) }
        }
    }

    /// Refuses control characters (NUL and the like) and invisible format characters (zero-width space, soft
    /// hyphen, direction marks), which would let two accounts look the same to a person.
    private static func refuseInvisibleCharacters(in text: String, field: String) throws(TurnstileError) {
        let invisible = text.unicodeScalars.first {
            [.control, .format].contains($0.properties.generalCategory)
        }
        guard let invisible else { return }
        let code = "U+" + String(invisible.value, radix: 16, uppercase: true).leftPadded(to: 4)
        throw .validationFailed(
            field: field, detail: "must not contain control or invisible formatting characters (found \(code))")
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
