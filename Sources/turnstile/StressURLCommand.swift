import ArgumentParser
import NIOCore
import NIOHTTP1
import Foundation
import NIOPosix
import TurnstileLoad
import TurnstileReport

/// `turnstile stress url`: the ad-hoc mode of wrk and hey.
struct StressURLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Load one URL for a while, like wrk or hey: closed-loop, or at a fixed rate with -R.",
        discussion: """
            Every answer with a status outside --expect-status (2xx unless changed) counts as a failure, as in k6. \
            The endpoint is named 'METHOD PATH' in the report and in thresholds, e.g. 'GET /health:p99<5ms'. A run \
            in which no request got an answer could not be carried out (exit 3). With -R, the run ends at its \
            duration: arrivals that found no free connection by then are counted as dropped, and the report says \
            how many connections the rate would need.

            Examples:
              turnstile stress url http://127.0.0.1:8080/health -c 64 -d 10s
              turnstile stress url http://127.0.0.1:8080/health -c 16 -R 5000 -d 30s --threshold 'p99<10ms'
              turnstile stress url http://127.0.0.1:8080/api/v1/events/999 --expect-status 404
            """
    )

    @Argument(help: "The URL to load, e.g. http://127.0.0.1:8080/health.")
    var url: String

    @Option(
        name: [.customShort("c"), .customLong("connections"), .customLong("users")],
        help: "Connections (closed-loop: each loops send → answer → send).")
    var connections = 50

    @Option(name: [.customShort("d"), .customLong("duration")], help: "How long: e.g. 10s, 500ms, 2m.")
    var duration = DurationArgument(seconds: 10)

    @Option(
        name: [.customShort("R"), .customLong("rate")],
        help: "Requests per second (open loop, latency from the intended start).")
    var rate: Double?

    @Option(
        help: ArgumentHelp(
            "The statuses that count as expected, e.g. 200-299,404; any other is a failure.", valueName: "statuses"))
    var expectStatus = "200-299"

    @Option(name: .short, help: "HTTP method.")
    var method = "GET"

    @Option(name: .customShort("H"), help: "A header, 'Name: value'; repeat for several.")
    var headers: [String] = []

    @Option(name: .short, help: "The request body.")
    var body: String?

    @OptionGroup var run: RunOptions

    func validate() throws {
        _ = try split()
        do { _ = try StatusSet(parsing: expectStatus) } catch { throw ValidationError("--expect-status: \(error)") }
        guard connections >= 1 else { throw ValidationError("-c must be at least 1") }
        if let rate, rate <= 0 { throw ValidationError("-R must be positive") }
        for header in headers {
            // The engine sends heads without re-checking them on every request: refuse what could split a request.
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
                !header.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }),
                !header[..<colon].contains(where: { $0.isWhitespace })
            else {
                throw ValidationError("header '\(header)' must look like 'Name: value' on one line")
            }
        }
    }

    /// The target (scheme, host, port) and the path with its query.
    private func split() throws -> (LoadTarget, String) {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ValidationError("the URL must start with http:// or https://")
        }
        do {
            let (base, path) = try LoadTarget.splitting(url: url, tls: run.tls, http: run.httpOptions)
            return (try run.target(base.description), path)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let (target, path) = try split()
        var httpHeaders = HTTPHeaders()
        for header in headers {
            let parts = header.split(separator: ":", maxSplits: 1)
            httpHeaders.add(name: String(parts[0]), value: parts[1].trimmingCharacters(in: .whitespaces))
        }
        let request = LoadRequest(
            endpoint: "\(method.uppercased()) \(path)", method: HTTPMethod(rawValue: method.uppercased()), path: path,
            headers: httpHeaders, body: body.map { ByteBuffer(string: $0) },
            expected: try StatusSet(parsing: expectStatus))
        let suite = URLSuite(request: request, connections: connections, duration: duration.timeAmount, rate: rate)
        let (thresholds, runID, timeouts) = (try run.parsedThresholds, run.newRunID, run.timeouts)
        try await CommandRun(run).perform("url", target: target.description) { progress in
            await StressRun.execute(
                suite: "url", target: target, thresholds: thresholds, endpoints: [request.endpoint], runID: runID
            ) { report in
                report.phases.append(
                    try await suite.run(
                        target: target, group: MultiThreadedEventLoopGroup.singleton, timeouts: timeouts,
                        progress: progress))
            }
        }
    }
}
