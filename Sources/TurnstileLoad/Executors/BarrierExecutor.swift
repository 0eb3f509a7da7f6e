import Foundation
import NIOCore
import TurnstileReport

/// Every user sends exactly one request, and all are released at the same instant.
///
/// Every request is written but for its end first, so no server can answer it yet; once every request is on the wire,
/// each event loop lets its connections' held ends go in one tight loop. How depends on the HTTP version:
///
/// - **HTTP/1.1, the last-byte barrier:** each request has its own connection, and its end is the final CRLF of its
///   head and its body (see ``ReleaseHoldback``): one packet per request.
/// - **HTTP/2, the single-packet race** (after PortSwigger's "single-packet attack"): up to
///   ``streamsPerConnection`` requests share a connection, each a stream whose headers and body are sent without the
///   frame that ends it; the release writes all of a connection's held end frames (9 bytes each) in one write, so
///   they share as few TCP packets as their size allows, and network jitter drops out of the race. Larger races
///   spread over several connections, released together. `--streams` sets how many share one; 1 gives each request
///   its own connection, as on HTTP/1.1.
///
/// The report states the achieved release spread (the time between the first and the last release) and the
/// packets the released bytes needed at least. Latency is measured from each request's release; an answer that
/// arrives before its release is an error of its own kind (``EndpointStats/ErrorKind/answeredBeforeRelease``), never
/// a latency.
public struct BarrierExecutor: Sendable {
    public var timeouts: HTTPClientConnection.Timeouts
    /// The wall-clock instant to release at, once every request is on the wire but for its last bytes (the shards
    /// of one run release together); nil releases as soon as they are.
    public var releaseAt: Date?

    /// How many requests share an HTTP/2 connection unless `--streams` says otherwise: the number of streams most
    /// servers allow at once (NIO's and nginx's defaults are 100 and 128), and 900 bytes of end frames, one packet.
    public static let streamsPerConnection = 100
    /// A TCP segment's payload on a 1,500-byte MTU with timestamps, as Linux sends them.
    static let packetPayloadBytes = 1_448
    /// What a TLS 1.3 record adds to the bytes it carries: its header, content type and AEAD tag.
    static let tlsRecordOverheadBytes = 22

    public init(timeouts: HTTPClientConnection.Timeouts = .init(), releaseAt: Date? = nil) {
        self.timeouts = timeouts
        self.releaseAt = releaseAt
    }

    /// The phase's report, and each request's response (bodies kept, for read-backs) in the order of `requests`.
    public func run(
        _ phaseName: String, requests: [LoadRequest], target: LoadTarget, group: any EventLoopGroup
    ) async throws -> (report: PhaseReport, responses: [Result<LoadResponse, LoadError>]) {
        precondition(
            requests.count <= LoadLimits.barrierUsersMax, "a barrier releases at most \(LoadLimits.barrierUsersMax)")
        LoadLimits.raiseOpenFileLimit()
        // Released at an instant: connect shortly before it and write shortly before that, not as soon as the users
        // are ready, which may be minutes early: a server closes an idle connection (Turnstile after 30 s), and a
        // request whose head does not finish in time (Turnstile: 5 s). Waits for wall-clock instants, nothing else.
        try await Self.wait(until: releaseAt, less: LoadLimits.barrierConnectLead)
        let startedAt = Date()
        // The first connection says which HTTP the target speaks, and so how many requests each connection carries.
        let first = try await open(1, to: target, group: group, requestCount: requests.count)[0]
        let perConnection = try await first.eventLoop.submit {
            first.isMultiplexed
                ? max(1, min(target.http.streams ?? Self.streamsPerConnection, first.requestsMax)) : 1
        }.get()
        let connectionCount = (requests.count + perConnection - 1) / perConnection
        let connections =
            try await [first]
            + open(connectionCount - 1, to: target, group: group, requestCount: requests.count, closing: [first])
        defer { for connection in connections { connection.close() } }

        // Write every request but its end, and wait until all of them are on the wire. Each response is
        // recorded on its loop the moment it completes, with latency from its own connection's release.
        let recorders = RecorderSet(group: group)
        // A held request hears nothing until every request is on the wire and released, so until then only the long
        // response timeout applies; both clocks start afresh at its release (see `releaseHeldBytes`).
        let sendTimeouts = HTTPClientConnection.Timeouts(
            connect: timeouts.connect, read: timeouts.response, response: timeouts.response)
        try await Self.wait(until: releaseAt, less: LoadLimits.barrierWriteLead)
        var responses: [EventLoopFuture<LoadResponse>] = []
        var writes: [EventLoopFuture<Void>] = []
        for (index, request) in requests.enumerated() {
            let connection = connections[index / perConnection]
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

        // Release: one tight loop per event loop, all loops at once, once every connection's ends are ready.
        var byLoop: [ObjectIdentifier: [HTTPClientConnection]] = [:]
        for connection in connections {
            byLoop[ObjectIdentifier(connection.eventLoop), default: []].append(connection)
        }
        for connections in byLoop.values {
            try await connections[0].eventLoop.submit { for connection in connections { connection.prepareRelease() } }
                .get()
        }
        let tlsOverhead = target.tls == nil ? 0 : Self.tlsRecordOverheadBytes
        // At an instant: each loop's release is a timer for it, so every loop lets go at once, by the wall clock
        // read here (one reading: the loops' monotonic clock carries it). Ready after it: released at once, late.
        let (wallNow, monotonicNow) = (Date(), NIODeadline.now())
        let delay = releaseAt.map { $0.timeIntervalSince(wallNow) } ?? 0
        let releaseDeadline = monotonicNow + .nanoseconds(Int64(max(0, delay) * 1e9))
        let releases = byLoop.values.map { connections in
            connections[0].eventLoop.scheduleTask(deadline: releaseDeadline) {
                let times = connections.map { $0.releaseHeldBytes() }
                let packets = connections.reduce(0) { packets, connection in
                    packets
                        + max(
                            1,
                            (connection.releasedByteCount + tlsOverhead + Self.packetPayloadBytes - 1)
                                / Self.packetPayloadBytes)
                }
                return (times, packets)
            }.futureResult
        }
        var releaseTimes: [NIODeadline] = []
        var packets = 0
        for release in releases {
            let (times, loopPackets) = try await release.get()
            releaseTimes += times
            packets += loopPackets
        }
        let firstRelease = releaseTimes.min() ?? .now()
        let spread = releaseTimes.isEmpty ? 0 : (releaseTimes.max()! - firstRelease).nanoseconds / 1_000

        var results: [Result<LoadResponse, LoadError>] = []
        for response in responses {
            do { results.append(.success(try await response.get())) } catch {
                results.append(.failure(ResponseHandler.classify(error)))
            }
        }
        let duration = Double((NIODeadline.now() - firstRelease).nanoseconds) / 1e9
        let snapshot = await recorders.finalSnapshot()
        var report = PhaseReport(
            name: phaseName, executor: "barrier", startedAt: startedAt, durationSeconds: duration,
            users: requests.count, endpoints: snapshot.endpoints, timeline: snapshot.seconds,
            releaseSpreadMicroseconds: UInt64(max(0, spread)))
        report.releasePackets = UInt64(packets)
        report.releasedAtUnixSeconds =
            wallNow.timeIntervalSince1970 + Double((firstRelease - monotonicNow).nanoseconds) / 1e9
        if releaseAt != nil { report.releaseLateSeconds = max(0, -delay) }
        // Every connection was opened before the race: their set-up is the phase's own figure.
        var (connect, tls) = (LatencyHistogram(precision: .coarse), LatencyHistogram(precision: .coarse))
        var versions: [String: UInt64] = [:]
        for connection in connections { connection.recordSetup(connect: &connect, tls: &tls, versions: &versions) }
        report.connectLatency = connect.isEmpty ? nil : connect
        report.tlsLatency = tls.isEmpty ? nil : tls
        report.httpVersions = versions
        if perConnection > 1 {
            report.facts.append(
                "single-packet release over HTTP/2: \(requests.count) requests as streams on \(connectionCount) "
                    + "connection\(connectionCount == 1 ? "" : "s") (up to \(perConnection) each), their ends in "
                    + "\(packets) packet\(packets == 1 ? "" : "s")")
        }
        return (report, results)
    }

    /// Sleeps until `lead` before `instant`, if that is still ahead.
    private static func wait(until instant: Date?, less lead: TimeAmount) async throws {
        guard let instant else { return }
        let wait = instant.timeIntervalSinceNow - Double(lead.nanoseconds) / 1e9
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }

    /// Opens `count` connections that hold their requests' ends, spread over the group's loops. A race with buyers
    /// missing is not the race asked for: if any cannot be opened, all are closed (`closing` too) and the run stops.
    private func open(
        _ count: Int, to target: LoadTarget, group: any EventLoopGroup, requestCount: Int,
        closing others: [HTTPClientConnection] = []
    ) async throws -> [HTTPClientConnection] {
        let timeouts = self.timeouts
        let connected = await withTaskGroup(of: (Int, Result<HTTPClientConnection, LoadError>).self) { tasks in
            for index in 0..<count {
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
            var connections = [Result<HTTPClientConnection, LoadError>?](repeating: nil, count: count)
            for await (index, result) in tasks { connections[index] = result }
            return connections.map { $0! }
        }
        let connections = connected.compactMap { try? $0.get() }
        let failedConnects = connected.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        if let first = failedConnects.first {
            for connection in connections + others { connection.close() }
            throw SetupError(
                "could not open \(failedConnects.count) of \(count) connections for the race of \(requestCount) "
                    + "(\(first)); lower the number of users or raise the open-file limit")
        }
        return connections
    }
}
