import Foundation
import NIOCore
import TurnstileReport

/// Every user sends exactly one request, and all are released at the same instant.
///
/// Each request gets its own connection and is written but for its end first (the final CRLF of its head and its
/// body, see ``ReleaseHoldback``), so no server can answer it yet. Once every request is on the wire, each event loop
/// lets its connections' held bytes go in one tight loop. The report states the achieved release spread: the time
/// between the first and the last release. Latency is measured from each request's release; an answer that arrives
/// before its release is an error of its own kind (``EndpointStats/ErrorKind/answeredBeforeRelease``), never a
/// latency.
public struct BarrierExecutor: Sendable {
    public var timeouts: HTTPClientConnection.Timeouts

    public init(timeouts: HTTPClientConnection.Timeouts = .init()) {
        self.timeouts = timeouts
    }

    /// The phase's report, and each request's response (bodies kept, for read-backs) in the order of `requests`.
    public func run(
        _ phaseName: String, requests: [LoadRequest], target: LoadTarget, group: any EventLoopGroup
    ) async throws -> (report: PhaseReport, responses: [Result<LoadResponse, LoadError>]) {
        precondition(
            requests.count <= LoadLimits.barrierUsersMax, "a barrier releases at most \(LoadLimits.barrierUsersMax)")
        LoadLimits.raiseOpenFileLimit()
        let startedAt = Date()
        let connected = await withTaskGroup(of: (Int, Result<HTTPClientConnection, LoadError>).self) { tasks in
            for index in requests.indices {
                let eventLoop = group.next()
                tasks.addTask {
                    do {
                        let connection = try await HTTPClientConnection.connect(
                            to: target, on: eventLoop, timeouts: timeouts, holdingRequestEnd: true
                        ).get()
                        return (index, .success(connection))
                    } catch {
                        return (index, .failure(ResponseHandler.classify(error)))
                    }
                }
            }
            var connections = [Result<HTTPClientConnection, LoadError>?](repeating: nil, count: requests.count)
            for await (index, result) in tasks { connections[index] = result }
            return connections.map { $0! }
        }
        let connections = connected.compactMap { try? $0.get() }
        defer { for connection in connections { connection.close() } }
        // A race with buyers missing is not the race asked for: the run cannot be carried out as specified.
        let failedConnects = connected.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        if let first = failedConnects.first {
            throw SetupError(
                "could not open \(failedConnects.count) of \(requests.count) connections for the race (\(first)); "
                    + "lower the number of users or raise the open-file limit")
        }

        // Write every request but its end, and wait until all of them are on the wire. Each response is
        // recorded on its loop the moment it completes, with latency from its own connection's release.
        let recorders = RecorderSet(group: group)
        // A held request hears nothing until every request is on the wire and released, so until then only the long
        // response timeout applies; both clocks start afresh at its release (see `releaseHeldByte`).
        let sendTimeouts = HTTPClientConnection.Timeouts(
            connect: timeouts.connect, read: timeouts.response, response: timeouts.response)
        var responses: [EventLoopFuture<LoadResponse>] = []
        var writes: [EventLoopFuture<Void>] = []
        for (request, connection) in zip(requests, connections) {
            let sent = try await connection.eventLoop.submit {
                let written = connection.eventLoop.makePromise(of: Void.self)
                let response = connection.send(request, timeouts: sendTimeouts, keepBody: true, written: written)
                response.whenComplete { result in
                    let end = NIODeadline.now()
                    var recorded = result.mapError(ResponseHandler.classify)
                    if case .success(let answer) = recorded, connection.releasedAt == nil {
                        recorded = .failure(
                            LoadError(
                                .answeredBeforeRelease, "answered \(answer.status) before the request was released"))
                    }
                    recorders.recorder(on: connection.eventLoop).record(
                        request, start: connection.releasedAt ?? end, end: end, result: recorded)
                }
                return (written.futureResult, response)
            }.get()
            writes.append(sent.0)
            responses.append(sent.1)
        }
        for write in writes { _ = try? await write.get() }

        // Release: one tight loop per event loop, all loops at once.
        var byLoop: [ObjectIdentifier: [HTTPClientConnection]] = [:]
        for connection in connections {
            byLoop[ObjectIdentifier(connection.eventLoop), default: []].append(connection)
        }
        let releases = byLoop.values.map { connections in
            connections[0].eventLoop.submit { connections.map { $0.releaseHeldBytes() } }
        }
        var releaseTimes: [NIODeadline] = []
        for release in releases { releaseTimes += try await release.get() }
        let firstRelease = releaseTimes.min() ?? .now()
        let spread = releaseTimes.isEmpty ? 0 : (releaseTimes.max()! - firstRelease).nanoseconds / 1_000

        var results: [Result<LoadResponse, LoadError>] = []
        for response in responses {
            do { results.append(.success(try await response.get())) } catch {
                results.append(.failure(ResponseHandler.classify(error)))
            }
        }
        let duration = Double((NIODeadline.now() - firstRelease).nanoseconds) / 1e9
        let snapshot = await recorders.snapshot()
        var report = PhaseReport(
            name: phaseName, executor: "barrier", startedAt: startedAt, durationSeconds: duration,
            users: requests.count, endpoints: snapshot.endpoints, timeline: snapshot.seconds,
            releaseSpreadMicroseconds: UInt64(max(0, spread)))
        // Every connection was opened before the race: their set-up is the phase's own figure.
        var (connect, tls) = (LatencyHistogram(precision: .coarse), LatencyHistogram(precision: .coarse))
        for connection in connections { connection.recordSetup(connect: &connect, tls: &tls) }
        report.connectLatency = connect.isEmpty ? nil : connect
        report.tlsLatency = tls.isEmpty ? nil : tls
        return (report, results)
    }
}
