import ArgumentParser

/// The one executable. The root only routes to subcommands.
@main
struct Turnstile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turnstile",
        abstract: "Sell scarce things exactly, and prove it under fire.",
        discussion: """
            `turnstile serve` runs the reservation service on an embedded SQLite file. It never oversells and \
            never undersells, however many buyers arrive at once.
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self]
    )
}
