import ArgumentParser
import Foundation
import NIOCore
import TurnstileLoad

/// `turnstile proxy`: a TCP proxy with scheduled faults, to put between a service and its database.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Forward TCP connections with scheduled faults: latency, bandwidth, resets, blackholes, outages.",
        discussion: """
            Listens on --listen and forwards every connection to --upstream. Each --fault switches a fault on for a \
            window measured from the start: [LINK:]FAULT@START+LENGTH, e.g. 'db:outage@10s+10s'. Faults: \
            outage (open connections reset, new ones reset at once), reset (open connections reset), blackhole \
            (accepted, nothing goes through), latency=200ms[~50ms] (each chunk held back, with jitter), \
            bandwidth=BYTES (per second, per connection and direction), close-after=BYTES. Point the service at \
            the proxy, e.g. turnstile serve --database postgres://user@127.0.0.1:6432/db.

            Examples:
              turnstile proxy --listen 127.0.0.1:6432 --upstream 127.0.0.1:5432 --fault 'db:outage@10s+10s'
              turnstile proxy --listen 127.0.0.1:6432 --upstream 127.0.0.1:5432 --fault 'latency=200ms~50ms@0s+60s' -d 60s
            """
    )

    @Option(help: "The address to listen on, HOST:PORT.")
    var listen: String

    @Option(help: "The address to forward to, HOST:PORT.")
    var upstream: String

    @Option(name: .customLong("fault"), help: "A scheduled fault; repeat for more.")
    var faults: [String] = []

    @Option(
        name: [.customLong("duration"), .customShort("d")],
        help: "Stop by itself after this long (e.g. 60s); otherwise run until SIGINT or SIGTERM.")
    var duration: DurationArgument?

    func validate() throws {
        _ = try Self.address(listen, "--listen")
        _ = try Self.address(upstream, "--upstream")
        for fault in faults {
            do { _ = try ScheduledFault(parsing: fault) } catch { throw ValidationError("--fault \(error)") }
        }
    }

    func run() async throws {
        let schedule = try faults.map { try ScheduledFault(parsing: $0) }
        try await FaultProxy.run(
            listeningOn: try Self.address(listen, "--listen"), upstream: try Self.address(upstream, "--upstream"),
            schedule: schedule, onChange: { change in print("[proxy] \(change)") }
        ) { proxy in
            print("Fault proxy on 127.0.0.1:\(proxy.port) → \(upstream); schedule: \(schedule.map(\.description))")
            try await Self.waitForSignalOr(duration?.timeAmount)
        }
    }

    /// Returns after `duration`, or at SIGINT or SIGTERM.
    private static func waitForSignalOr(_ duration: TimeAmount?) async throws {
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler { stop.finish() }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }
        await withDiscardingTaskGroup { group in
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: .nanoseconds(duration.nanoseconds))
                    stop.finish()
                }
            }
            for await _ in stopped {}
            group.cancelAll()
        }
    }

    static func address(_ text: String, _ flag: String) throws -> (host: String, port: Int) {
        guard let address = HostPort(text) else {
            throw ValidationError("\(flag) must be HOST:PORT, e.g. 127.0.0.1:6432")
        }
        return (address.host, address.port)
    }
}
