import ArgumentParser

/// A usage error as one line: ArgumentParser's message, the nearest command for a misspelt one, and where to read
/// more.
enum UsageError {
    static func line(for error: any Error, arguments: [String]) -> String {
        let (path, command, stray) = resolve(arguments)
        var message = Turnstile.message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        if let stray, let nearest = nearest(to: stray, among: subcommandNames(of: command)) {
            message += " — did you mean `\(nearest)`?"
        }
        return "error: \(message) (see `\((["turnstile"] + path).joined(separator: " ")) --help`)"
    }

    /// The commands named in `arguments`, the deepest one, and the first word where a subcommand was expected but
    /// none of that name exists.
    static func resolve(_ arguments: [String]) -> (path: [String], command: any ParsableCommand.Type, stray: String?) {
        var command: any ParsableCommand.Type = Turnstile.self
        var path: [String] = []
        for argument in arguments where !argument.hasPrefix("-") {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { break }
            guard
                let next = subcommands.first(where: {
                    $0._commandName == argument || $0.configuration.aliases.contains(argument)
                })
            else { return (path, command, argument) }
            command = next
            path.append(argument)
        }
        return (path, command, nil)
    }

    static func subcommandNames(of command: any ParsableCommand.Type) -> [String] {
        command.configuration.subcommands.flatMap { [$0._commandName] + $0.configuration.aliases }
    }

    /// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
    static func nearest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, distance) = scored, distance <= max(2, word.count / 3) else { return nil }
        return candidate
    }

    /// Levenshtein distance.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
