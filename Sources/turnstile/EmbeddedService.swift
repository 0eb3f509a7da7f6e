import ArgumentParser
import Foundation
import Logging
import TurnstileReport
import ServiceLifecycle
import TurnstileLoad
import TurnstileSQLite
import TurnstileServer
import TurnstileStore

/// The service run in-process on 127.0.0.1 (an ephemeral port, a temporary SQLite file with full durability), for
/// `demo` and for suites that compare settings of the service itself.
enum EmbeddedService {
    /// Starts the service, runs `body` against it, then shuts it down gracefully and removes its files.
    ///
    /// - Parameter http2: serve HTTPS with a throwaway self-signed certificate made now, which the target trusts, so
    ///   the engine speaks HTTP/2 to it (agreed in the handshake).
    static func with<Result: Sendable>(
        readCache: Bool = true, storeTimeouts: StoreTimeouts = StoreTimeouts(), http2: Bool = false,
        _ body: @Sendable (LoadTarget) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "turnstile.embedded")
        logger.logLevel = .warning
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("turnstile-embedded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let store = try await SQLiteStore.open(
            SQLiteStoreConfiguration(
                path: directory.appendingPathComponent("embedded.sqlite").path, timeouts: storeTimeouts),
            logger: logger)
        var random = SystemRandomNumberGenerator()
        // The accounts made against an embedded service are throwaway: a light password hash keeps provisioning
        // hundreds of them quick.
        let certificate = try http2 ? SelfSignedCertificate().write(into: directory) : nil
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, jwtSecret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
            passwordHashRounds: 1_000, readCacheEnabled: readCache, authRateLimit: nil,
            tls: try certificate.map { try .server(certificateFile: $0.certificate, keyFile: $0.key) })
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = Server(configuration: configuration, store: store, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let services = ServiceGroup(
            configuration: .init(services: [server.application()], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await services.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ValidationError("the embedded service did not start") }
            do {
                let target = try LoadTarget(
                    parsing: "\(http2 ? "https" : "http")://127.0.0.1:\(port)",
                    tls: TLSOptions(caFile: certificate?.certificate))
                let result = try await body(target)
                await services.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Read-heavy throughput (the bundled `scenario`) against the embedded service with the read cache on, then off:
    /// the classic with-cache / without-cache comparison, as the phases of `report`, each with a probe that the cache
    /// really was on (or off). The probe reads a response header, which no scenario can: it stays code.
    static func compareCache(
        _ scenario: (ScenarioFile, [String: ScenarioValue]), timeouts: HTTPClientConnection.Timeouts,
        setupTimeouts: HTTPClientConnection.Timeouts? = nil, progress: ProgressReporter,
        storeTimeouts: StoreTimeouts = StoreTimeouts(), into report: inout RunReport
    ) async throws {
        for readCache in [true, false] {
            let name = "throughput (cache \(readCache ? "on" : "off"))"
            var (file, overrides) = scenario
            file.phases[0].name = try ScenarioTemplate(name, at: SourcePosition(file: name, line: 1, column: 1))
            let part = try await with(readCache: readCache, storeTimeouts: storeTimeouts) { [file, overrides] target in
                let context = SuiteContext(
                    target: target, timeouts: timeouts, progress: progress, setupTimeouts: setupTimeouts)
                var part = RunReport(suite: "throughput", target: target.description)
                try await ScenarioRunner(file, context: context, overrides: overrides).run(into: &part)
                part.invariants.append(
                    try await CacheProbe.check(
                        cacheOn: readCache, phase: name, target: target, group: context.group, timeouts: timeouts))
                return part
            }
            report.phases += part.phases
            report.invariants += part.invariants
            report.notes += part.notes
            if let failure = part.failure { throw SetupError(failure) }
        }
        let (on, off) = (report.phases[report.phases.count - 2], report.phases[report.phases.count - 1])
        let (onRate, offRate) = (on.rate(on.overall), off.rate(off.overall))
        report.notes.append(
            "read cache: \(Format.rate(onRate)) with it, \(Format.rate(offRate)) without (on ÷ off = "
                + "\(Format.fixed(offRate > 0 ? onRate / offRate : 0, digits: 2))×); p99 "
                + "\(Format.microseconds(on.overall.latency.percentile(99))) with, "
                + "\(Format.microseconds(off.overall.latency.percentile(99))) without")
    }
}
