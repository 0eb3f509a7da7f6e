import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import TurnstileLoad
import TurnstileReport

/// Where the dashboard listens: `PORT`, `HOST:PORT` or `[IPv6]:PORT`.
struct DashboardAddress: ExpressibleByArgument, Sendable {
    var host: String
    var port: Int

    init?(argument: String) {
        var host = "127.0.0.1"
        var port = Substring(argument)
        if let colon = argument.lastIndex(of: ":") {
            let given = argument[..<colon]
            if !given.isEmpty { host = String(given.hasPrefix("[") ? given.dropFirst().dropLast() : given) }
            port = argument[argument.index(after: colon)...]
        }
        guard let number = Int(port), (0...65_535).contains(number), !host.isEmpty else { return nil }
        self.host = host
        self.port = number
    }
}

/// How long the dashboard lingers: a length of time with its unit, or 0.
struct DashboardLinger: ExpressibleByArgument, Sendable {
    let time: TimeAmount

    init?(argument: String) {
        guard let time = TimeAmount(parsing: argument) else { return nil }
        self.time = time
    }

    init(seconds: Int64) {
        time = .seconds(seconds)
    }

    var duration: Duration { .nanoseconds(time.nanoseconds) }
    var defaultValueDescription: String { DurationArgument.describe(time) }
}

/// The live dashboard: a small HTTP server beside the run, serving
///
/// - `/`: the report so far (the same page as `--html` writes), which then follows `/events`;
/// - `/events`: Server-Sent Events, one `report` event a second with the page's new content, and a last `final` one;
/// - `/report.html` and `/report.json`: the report so far, or the final one, to download.
enum Dashboard {
    /// Serves the dashboard of `monitor` while `body` runs with its address; stops when `body` returns.
    static func serve<Result: Sendable>(
        at address: DashboardAddress, monitor: RunMonitor, _ body: (String) async throws -> Result
    ) async throws -> Result {
        let command = RedactedCommandLine.current
        var logger = Logger(label: "turnstile.dashboard")
        logger.logLevel = .warning
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router(monitor, command: command, host: address.host),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "turnstile"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? address.port)
                portContinuation.finish()
            }, logger: logger)
        let services = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do { try await services.run() } catch {
                    // It never listened (the port is taken, say): no port will come.
                    portContinuation.finish()
                    throw error
                }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                throw ValidationError(
                    "--dashboard: could not listen on \(address.host):\(address.port) (is the port taken?)")
            }
            let host = address.host.contains(":") ? "[\(address.host)]" : address.host
            // The event streams end once the monitor has the final report, so a graceful shutdown does not wait long.
            do {
                let result = try await body("http://\(host):\(port)/")
                await services.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                // No final report will come to end the event streams: close them.
                tasks.cancelAll()
                throw error
            }
        }
    }

    static func router(_ monitor: RunMonitor, command: String, host: String) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: HostCheck(listeningHost: host))
        router.get("/") { _, _ in
            let (report, isFinal) = await monitor.snapshot()
            let live = HTMLReport.Live(isFinal: isFinal, elapsedSeconds: monitor.elapsedSeconds)
            return page(HTMLReport.render(report, command: command, live: live), type: "text/html; charset=utf-8")
        }
        router.get("events") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    while !Task.isCancelled {
                        let (report, isFinal) = await monitor.snapshot()
                        let live = HTMLReport.Live(isFinal: isFinal, elapsedSeconds: monitor.elapsedSeconds)
                        let content = HTMLReport.content(report, command: command, live: live)
                        try await writer.write(ByteBuffer(string: event(isFinal ? "final" : "report", data: content)))
                        if isFinal { break }
                        try await Task.sleep(for: .seconds(1))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("report.html") { _, _ in
            let (report, _) = await monitor.snapshot()
            return page(HTMLReport.render(report, command: command), type: "text/html; charset=utf-8")
        }
        router.get("report.json") { _, _ in
            let (report, _) = await monitor.snapshot()
            return page(String(decoding: try JSONReport.encode(report), as: UTF8.self), type: "application/json")
        }
        return router
    }

    /// One Server-Sent Event: its name, and its data a line at a time. Every line break the event stream knows (CR,
    /// LF, CRLF) starts a new `data:` line, so no text in the report (a name with `\r` in it) can end the event early
    /// or start a field of its own.
    static func event(_ name: String, data: String) -> String {
        // CRLF is one Character in Swift, so each break is split on once.
        let lines = data.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        return "event: \(name)\n" + lines.map { "data: \($0)\n" }.joined() + "\n"
    }

    /// Refuses a request whose `Host` is not the dashboard's own: a web page that rebinds its own name to this
    /// machine (DNS rebinding) sends its own name, never an address or `localhost`, so it cannot read the run.
    struct HostCheck<Context: RequestContext>: RouterMiddleware {
        let listeningHost: String

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            guard let authority = request.head.authority, Dashboard.isOwn(authority, listeningHost: listeningHost)
            else {
                return Response(
                    status: .misdirectedRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(string: "This dashboard answers requests for its own address only.\n")))
            }
            return try await next(request, context)
        }
    }

    /// Whether `authority` (`host[:port]`) names the dashboard: its listening host, `localhost`, or an address.
    static func isOwn(_ authority: String, listeningHost: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        let name = host.lowercased()
        if name == "localhost" || name == listeningHost.lowercased() { return true }
        return (try? SocketAddress(ipAddress: name, port: 0)) != nil
    }

    private static func page(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
