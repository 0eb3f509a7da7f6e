import ArgumentParser
import TurnstileLoad

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
        EditDistance.nearest(to: word, among: candidates, within: max(2, word.count / 3))
    }
}
