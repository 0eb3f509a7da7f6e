import ArgumentParser
import Foundation
import Synchronization
import TurnstileLoad
import TurnstileReport

/// `turnstile stress faults`: `scenarios/faults.yaml`, load while the target's database link fails in scheduled ways.
struct StressFaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Run a steady load while the target's database link suffers an outage, latency and resets.",
        discussion: """
            Runs the bundled scenario scenarios/faults.yaml (`turnstile stress run` can run it too): the fault \
            proxy on the database link, and bookings and reads through its faults: an outage at 3 s, +200 ms \
            latency at 10 s and resets at 17 s into the load, each reported before, during and after, with the time \
            writes took to succeed again. Then it checks that no 5xx but 503 was answered, nothing hung, no \
            acknowledged booking is missing, none appeared beyond the writes of unknown outcome, and the seats add \
            up.

            With --database postgres://…, it starts `turnstile serve` itself, pointed at the database through the \
            proxy. Otherwise point your --target's database at --proxy-listen yourself, and name the real \
            database with --proxy-upstream. The file's variables move the faults: --set outage_at=5s, \
            --set outage_for=2s, latency_at, latency_for, reset_at, reset_for, duration.

            Examples:
              turnstile stress faults --database postgres://turnstile@127.0.0.1:5432/turnstile
              turnstile stress faults --target http://127.0.0.1:8080 --proxy-listen 127.0.0.1:6432 \\
                --proxy-upstream 127.0.0.1:5432 --set outage_at=5s --set outage_for=5s
            """
    )

    @Option(help: "A PostgreSQL URL: start a service on it, through the proxy.")
    var database: String?

    @Option(help: "With --target: where the proxy listens (your service's database address), HOST:PORT.")
    var proxyListen: String?

    @Option(help: "With --target: the real database, HOST:PORT.")
    var proxyUpstream: String?

    @Option(name: [.customLong("users"), .customShort("c")], help: "Virtual users, each with their own account.")
    var users = 20

    @OptionGroup var scenario: ScenarioOptions

    @OptionGroup var options: StressOptions

    func validate() throws {
        try UserCount.validate(users)
        _ = try scenario.overrides
        if database == nil {
            guard let proxyListen, let proxyUpstream else {
                throw ValidationError(
                    "give --database postgres://…, or --proxy-listen and --proxy-upstream with --target")
            }
            _ = try ProxyCommand.address(proxyListen, "--proxy-listen")
            _ = try ProxyCommand.address(proxyUpstream, "--proxy-upstream")
        } else if let database, !(database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")) {
            throw ValidationError("--database must be a postgres:// URL: the faults are on its network link")
        }
    }

    func run() async throws {
        var overrides: [String: ScenarioValue] = ["users": .int(users)]
        let target: LoadTarget
        if let database {
            // The file starts the service, on a port of its own, its database reached through the proxy.
            guard var url = URLComponents(string: database), let host = url.host else {
                throw ValidationError("--database is not a URL")
            }
            let (proxyPort, servicePort) = (try await LoopbackPort.free(), try await LoopbackPort.free())
            overrides["proxy_upstream"] = .string("\(host):\(url.port ?? 5432)")
            overrides["proxy_listen"] = .string("127.0.0.1:\(proxyPort)")
            url.host = "127.0.0.1"
            url.port = proxyPort
            overrides["database"] = .string(url.string ?? database)
            overrides["turnstile"] = .string(ChildService.executable.path)
            overrides["port"] = .int(servicePort)
            overrides["secret"] = .string(ChildService.randomSecret())
            target = try LoadTarget(parsing: "http://127.0.0.1:\(servicePort)")
        } else {
            overrides["proxy_listen"] = .string(proxyListen ?? "")
            overrides["proxy_upstream"] = .string(proxyUpstream ?? "")
            target = try options.loadTarget
        }
        let bundled = try ScenarioOptions.bundled(.faults, overrides.merging(try scenario.overrides) { $1 })
        try await CommandRun(options.run).scenarios(
            "faults", [bundled], target: target, endpoints: bundled.0.endpoints)
    }
}
