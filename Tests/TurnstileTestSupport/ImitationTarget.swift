import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// What the deliberately broken targets share: a Hummingbird app on an ephemeral loopback port, JSON answers, and
/// the gate that makes a read-pause-write race deterministic.
enum ImitationTarget {
    /// Serves `router` on 127.0.0.1 and an ephemeral port for as long as `body` runs.
    static func serve<Result: Sendable>(
        _ router: Router<BasicRequestContext>, label: String, _ body: @Sendable (Int) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: label)
        logger.logLevel = .error
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await TurnstileTestSupport.serve(group, portReportedOn: ports) { port, _ in try await body(port) }
    }

    /// A JSON answer.
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Holds every caller until `count` have arrived, then lets them all go: the "pause" of a read-pause-write race,
/// made deterministic by a count rather than by timing.
actor ArrivalGate {
    private let count: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) {
        self.count = count
    }

    func arrive() async {
        arrived += 1
        if arrived >= count {
            for waiter in waiting { waiter.resume() }
            waiting.removeAll()
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
    }
}
