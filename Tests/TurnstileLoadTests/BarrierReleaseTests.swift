import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// A barrier is only honest if no server can answer a request before its release: not one without a body (double
/// pay, double cancel), and not one whose route ignores its body. The server here answers as soon as a head arrives.
@Suite("Barrier release", .serialized, .timeLimit(.minutes(1)))
struct BarrierReleaseTests {
    private static let users = 20

    /// Body-less and bodied POSTs and DELETEs, each naming itself.
    private static func request(_ index: Int) -> LoadRequest {
        let headers: HTTPHeaders = ["X-Index": String(index)]
        switch index % 3 {
        case 0: return LoadRequest(endpoint: "pay", method: .POST, path: "/orders/\(index)/pay", headers: headers)
        case 1: return LoadRequest(endpoint: "cancel", method: .DELETE, path: "/bookings/\(index)", headers: headers)
        default:
            return LoadRequest(
                endpoint: "ship", method: .POST, path: "/orders/\(index)/ship", headers: headers,
                body: ByteBuffer(string: "{}"))
        }
    }

    @Test("no request's head reaches the server before that request's release")
    func headsArriveAfterRelease() async throws {
        try await StampingServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let group = MultiThreadedEventLoopGroup.singleton
            var connections: [HTTPClientConnection] = []
            var responses: [EventLoopFuture<LoadResponse>] = []
            for index in 0..<Self.users {
                let connection = try await HTTPClientConnection.connect(
                    to: target, on: group.next(), holdingRequestEnd: true
                ).get()
                connections.append(connection)
                let (written, response) = try await connection.eventLoop.submit {
                    let written = connection.eventLoop.makePromise(of: Void.self)
                    let response = connection.send(
                        Self.request(index), timeouts: .init(), keepBody: true, written: written)
                    return (written.futureResult, response)
                }.get()
                responses.append(response)
                try await written.get()
            }
            var released: [Int: NIODeadline] = [:]
            for (index, connection) in connections.enumerated() {
                released[index] = try await connection.eventLoop.submit { connection.releaseHeldBytes() }.get()
            }
            for response in responses { #expect(try await response.get().status == 200) }
            let heads = server.headsReceived
            #expect(heads.count == Self.users)
            for index in 0..<Self.users {
                let head = try #require(heads[index])
                #expect(head >= released[index]!, "request \(index) was parsed before its release")
            }
            for connection in connections { connection.close() }
        }
    }

    @Test("the barrier measures every answer from its release; none comes back before it")
    func barrierMeasuresFromRelease() async throws {
        try await StampingServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let (phase, responses) = try await BarrierExecutor().run(
                "release", requests: (0..<Self.users).map(Self.request), target: target,
                group: MultiThreadedEventLoopGroup.singleton)
            #expect(responses.allSatisfy { (try? $0.get().status) == 200 })
            #expect(phase.overall.errorCounts.isEmpty, "\(phase.overall.errorCounts)")
            #expect(phase.overall.responses == UInt64(Self.users))
            #expect(server.headsReceived.count == Self.users)
            #expect(phase.releaseSpreadMicroseconds != nil)
        }
    }

    /// No stream ends before every request's headers are in, every end arrives within 1 ms at the server, and all
    /// of them left in one packet.
    @Test("the single-packet race over HTTP/2, on h2c and over TLS", arguments: [false, true])
    func singlePacketRace(overTLS: Bool) async throws {
        let folder = try temporaryFolder("turnstile-h2")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (paths, tls) = try TestCertificate.make(in: folder)
        try await StampingServer.with(speaking: overTLS ? .tls(tls) : .h2c) { server in
            // Over TLS HTTP/2 is agreed in the handshake; on plain TCP it is spoken with prior knowledge when asked.
            let target = try LoadTarget(
                parsing: "\(overTLS ? "https" : "http")://127.0.0.1:\(server.port)",
                tls: TLSOptions(caFile: paths.certificate), http: HTTPOptions(version: overTLS ? .auto : .http2))
            let (phase, responses) = try await BarrierExecutor().run(
                "single packet", requests: (0..<Self.users).map(Self.request), target: target,
                group: MultiThreadedEventLoopGroup.singleton)
            #expect(responses.allSatisfy { (try? $0.get().status) == 200 })
            #expect(phase.overall.errorCounts.isEmpty, "\(phase.overall.errorCounts)")
            #expect(phase.httpVersions == ["2": 1] && phase.connectLatency?.count == 1)
            #expect(phase.releasePackets == 1 && phase.facts.contains { $0.contains("single-packet release") })
            let (heads, ends) = (server.headsReceived, server.endsReceived)
            #expect(heads.count == Self.users && ends.count == Self.users)
            let (firstEnd, lastEnd, lastHead) = (ends.values.min()!, ends.values.max()!, heads.values.max()!)
            // Stamps are per socket read: a server slow to read may take the last headers and the release in one.
            #expect(firstEnd >= lastHead, "a stream ended before every request's headers had arrived")
            // The spread as the server saw it: the requests' ends arrived together.
            #expect(lastEnd - firstEnd < .milliseconds(1), "server-side spread \(lastEnd - firstEnd)")
        }
    }

    @Test("an HTTP/1.1 race still gives each request its own connection and packet")
    func lastByteRaceOnHTTP1() async throws {
        try await StampingServer.with { server in
            let target = try LoadTarget(parsing: "http://127.0.0.1:\(server.port)")
            let (phase, _) = try await BarrierExecutor().run(
                "last byte", requests: (0..<Self.users).map(Self.request), target: target,
                group: MultiThreadedEventLoopGroup.singleton)
            #expect(phase.httpVersions == ["1.1": UInt64(Self.users)] && phase.releasePackets == UInt64(Self.users))
            #expect(phase.facts.isEmpty)
        }
    }

    /// The figures for BENCHMARKS.md, not a test: the release spread as the server saw it (when the socket reads that
    /// completed the first and the last request happened), for the HTTP/1.1 last-byte barrier and the HTTP/2
    /// single-packet race in the same run. Build in release for figures worth recording:
    /// `TURNSTILE_BENCH_SPREAD=1 swift test -c release -Xswiftc -enable-testing --filter serverSideSpread`.
    @Test(
        "figures: the release spread at the server, HTTP/1.1 last byte vs HTTP/2 single packet",
        .enabled(if: ProcessInfo.processInfo.environment["TURNSTILE_BENCH_SPREAD"] == "1"))
    func serverSideSpread() async throws {
        let rounds = 7
        var lines = ["users  protocol           packets  client spread  server spread (median of \(rounds), min–max)"]
        for users in [20, 100, 1_000] {
            for http2 in [false, true] {
                var spreads: [Int64] = []
                var phase: PhaseReport?
                for _ in 0..<rounds {
                    try await StampingServer.with(speaking: http2 ? .h2c : .http1) { server in
                        let target = try LoadTarget(
                            parsing: "http://127.0.0.1:\(server.port)",
                            http: HTTPOptions(version: http2 ? .http2 : .http1))
                        let requests = (0..<users).map {
                            LoadRequest(
                                endpoint: "book", method: .POST, path: "/book", headers: ["X-Index": String($0)],
                                body: ByteBuffer(string: #"{"quantity":1}"#))
                        }
                        phase = try await BarrierExecutor().run(
                            "spread", requests: requests, target: target,
                            group: MultiThreadedEventLoopGroup.singleton
                        ).report
                        // A request is complete at the server with its head's end on HTTP/1.1 (the held CRLF), with
                        // its stream's end on HTTP/2.
                        let stamps = http2 ? server.endsReceived : server.headsReceived
                        #expect(stamps.count == users)
                        spreads.append((stamps.values.max()! - stamps.values.min()!).nanoseconds)
                    }
                }
                spreads.sort()
                let micro = { (nanoseconds: Int64) in Format.microseconds(UInt64(nanoseconds / 1_000)) }
                lines.append(
                    "\(users)".padding(toLength: 7, withPad: " ", startingAt: 0)
                        + (http2 ? "HTTP/2 single" : "HTTP/1.1 last byte").padding(
                            toLength: 19, withPad: " ", startingAt: 0)
                        + "\(phase?.releasePackets ?? 0)".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + Format.microseconds(phase?.releaseSpreadMicroseconds ?? 0).padding(
                            toLength: 15, withPad: " ", startingAt: 0)
                        + "\(micro(spreads[rounds / 2])) (\(micro(spreads[0]))–\(micro(spreads[rounds - 1])))")
            }
        }
        print(lines.joined(separator: "\n"))
    }

    @Test("the held part of a request is its head's final CRLF and everything after it")
    func heldPart() {
        let bodyless = ByteBuffer(string: "POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(bodyless) == bodyless.readableBytes - 2)
        let bodied = ByteBuffer(string: "POST /ship HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(bodied) == bodied.readableBytes - 4)
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(ByteBuffer(string: "abc")) == 2)
    }
}
