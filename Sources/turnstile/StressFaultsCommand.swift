import ArgumentParser
import Foundation
import Synchronization
import TurnstileLoad
import TurnstileReport

/// `turnstile stress faults`: load while the target's database link fails in scheduled ways.
struct StressFaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "Run a steady load while the target's database link suffers an outage, latency and resets.",
        discussion: """
            Puts a fault proxy (see `turnstile proxy`) on the database link and runs bookings and reads through the \
            schedule: by default an outage at 3 s, +200 ms latency at 10 s and resets at 17 s. Reports the error \
            rate and p99 latency before, during and after each fault, and when writes succeeded again; then checks \
            that no 5xx but 503 was answered, nothing hung, every acknowledged booking is stored, none appeared \
            beyond the writes of unknown outcome, and the seats add up.

            With --database postgres://…, it starts `turnstile serve` itself, pointed at the database through the \
            proxy. Otherwise point your --target's database at --proxy-listen yourself, and name the real \
            database with --proxy-upstream.

            Examples:
              turnstile stress faults --database postgres://turnstile@127.0.0.1:5432/turnstile
              turnstile stress faults --target http://127.0.0.1:8080 --proxy-listen 127.0.0.1:6432 \\
                --proxy-upstream 127.0.0.1:5432 --fault 'db:outage@5s+5s'
            """
    )

    @Option(help: "A PostgreSQL URL: start a service on it, through the proxy.")
    var database: String?

    @Option(help: "With --target: where the proxy listens (your service's database address), HOST:PORT.")
    var proxyListen: String?

    @Option(help: "With --target: the real database, HOST:PORT.")
    var proxyUpstream: String?

    @Option(
        name: .customLong("fault"), help: "A scheduled fault (as for `turnstile proxy`); replaces the default plan.")
    var faults: [String] = []

    @Option(name: [.customLong("users"), .customShort("c")], help: "Virtual users, each with their own account.")
    var users = 20

    @OptionGroup var options: StressOptions

    func validate() throws {
        try UserCount.validate(users)
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
        for fault in faults {
            do { _ = try ScheduledFault(parsing: fault) } catch { throw ValidationError("--fault \(error)") }
        }
    }

    func run() async throws {
        let schedule = faults.isEmpty ? FaultsSuite.classicSchedule : try faults.map { try ScheduledFault(parsing: $0) }
        let target = database == nil ? try options.loadTarget : nil
        let thresholds = try options.parsedThresholds
        try await options.run.perform("faults", target: target?.description ?? "a child turnstile serve") {
            progress in
            guard let target else {
                return try await Self.againstOwnService(
                    database: database ?? "", schedule: schedule, users: users, progress: progress)
            }
            return try await FaultProxy.run(
                listeningOn: try ProxyCommand.address(proxyListen ?? "", "--proxy-listen"),
                upstream: try ProxyCommand.address(proxyUpstream ?? "", "--proxy-upstream"), schedule: schedule,
                onChange: { progress.note("[proxy] \($0)") }
            ) { proxy in
                let context = SuiteContext(target: target, progress: progress)
                return await StressRun.execute(suite: "faults", target: target, thresholds: thresholds) { report in
                    try await FaultsSuite(context, proxy: proxy).run(
                        users: try await context.provision(users), into: &report)
                }
            }
        }
    }

    /// Starts a proxy in front of `database` and a child `turnstile serve` on it through the proxy, and runs the
    /// suite against that service. The proxy's clock starts once the service and its users are ready.
    static func againstOwnService(
        database: String, schedule: [ScheduledFault], users: Int, progress: ProgressReporter?
    ) async throws -> RunReport {
        guard var url = URLComponents(string: database), let host = url.host else {
            throw ValidationError("--database is not a URL")
        }
        let upstream = (host: host, port: url.port ?? 5432)
        let secret = ChildService.randomSecret()
        // The proxy must start (its schedule with it) only after set-up: a placeholder first forwards plainly.
        return try await FaultProxy.run(listeningOn: ("127.0.0.1", 0), upstream: upstream, schedule: []) { plain in
            url.host = "127.0.0.1"
            url.port = plain.port
            let service = try await ChildService.start([
                "--database", url.string ?? database, "--jwt-secret", secret, "--password-hash-rounds", "1",
            ])
            defer { if service.process.isRunning { service.process.terminate() } }
            progress?.targetStarted(service.process.processIdentifier, describe: "the child turnstile serve")
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(service.port)")
            let context = SuiteContext(target: target, progress: progress)
            let report = await StressRun.execute(suite: "faults", target: target, thresholds: []) { report in
                let provisioned = try await context.provision(users)
                // Swap the plain proxy for the scheduled one on the same port: the pool's connections are reset, as
                // by any network change, and the clock starts now. (Stopping a stopped proxy does nothing.)
                await plain.stop()
                try await FaultProxy.run(
                    listeningOn: ("127.0.0.1", plain.port), upstream: upstream, schedule: schedule,
                    onChange: { progress?.note("[proxy] \($0)") }
                ) { proxy in
                    try await FaultsSuite(context, proxy: proxy).run(users: provisioned, into: &report)
                }
            }
            await service.stop()
            return report
        }
    }
}
