/// A validated request to open an account.
public struct Registration: Equatable, Sendable {
    /// The email address, trimmed and lower-cased so that `A@x.io` and `a@x.io` are one account.
    public let email: String
    public let username: String
    public let password: String

    /// Validates the raw fields of a registration.
    /// - Throws: ``TurnstileError/validationFailed(field:detail:)`` naming the first field that is wrong.
    public init(email: String, username: String, password: String) throws(TurnstileError) {
        let email = Self.normalizedEmail(email)
        try Validate.length(of: email, field: "email", in: 3...Limits.emailLengthMax)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace)
        else {
            throw .validationFailed(field: "email", detail: "must be an email address such as ada@example.com")
        }
        let username = username.trimmingWhitespace()
        try Validate.length(of: username, field: "username", in: Limits.usernameLengthMin...Limits.usernameLengthMax)
        guard username.allSatisfy({ $0.isLetter || $0.isNumber || "_.-".contains($0) }) else {
            throw .validationFailed(field: "username", detail: "may hold only letters, digits, '_', '.' and '-'")
        }
        try Validate.length(of: password, field: "password", in: Limits.passwordLengthMin...Limits.passwordLengthMax)
        self.email = email
        self.username = username
        self.password = password
    }

    /// An email address as accounts are keyed: trimmed and lower-cased.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingWhitespace().lowercased()
    }
}
