/// The command line as reports show it (the HTML report, the live dashboard): the words a person typed, but the
/// values that look secret. A header whose name says it carries a credential (`-H 'Authorization: Bearer …'`) and a
/// `--set` whose name does (`--set password=…`) keep their names and lose their values, so a report shared from CI
/// gives nothing away.
enum RedactedCommandLine {
    /// Words in a header's or variable's name that mark its value secret (compared without case).
    static let secretWords = ["authorization", "cookie", "token", "password", "secret", "key"]
    static let placeholder = "[redacted]"

    /// This process's command line, redacted.
    static var current: String {
        redacted(["turnstile"] + CommandLine.arguments.dropFirst())
    }

    /// `arguments` joined with spaces, each secret value replaced by ``placeholder``.
    static func redacted(_ arguments: [String]) -> String {
        var words: [String] = []
        var setsNext = false
        for argument in arguments {
            if setsNext {
                words.append(redactingAssignment(argument))
                setsNext = false
            } else if argument == "--set" {
                words.append(argument)
                setsNext = true
            } else if argument.hasPrefix("--set=") {
                words.append("--set=" + redactingAssignment(String(argument.dropFirst("--set=".count))))
            } else {
                words.append(redactingHeader(argument))
            }
        }
        return words.joined(separator: " ")
    }

    /// `name=value` with the value replaced when the name looks secret.
    private static func redactingAssignment(_ text: String) -> String {
        guard let equals = text.firstIndex(of: "="), isSecret(text[..<equals]) else { return text }
        return text[...equals] + placeholder
    }

    /// `Name: value` (a header, wherever it appears) with the value replaced when the name looks secret.
    private static func redactingHeader(_ text: String) -> String {
        guard let colon = text.firstIndex(of: ":"), !text[..<colon].contains(" "), isSecret(text[..<colon]),
            !text[colon...].hasPrefix("://")
        else { return text }
        return text[...colon] + " " + placeholder
    }

    private static func isSecret(_ name: Substring) -> Bool {
        let lowered = name.lowercased()
        return secretWords.contains { lowered.contains($0) }
    }
}
