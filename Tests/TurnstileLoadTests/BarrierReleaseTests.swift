import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileReport

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
                let written = try await connection.eventLoop.submit {
                    let written = connection.eventLoop.makePromise(of: Void.self)
                    responses.append(
                        connection.send(Self.request(index), timeouts: .init(), keepBody: true, written: written))
                    return written.futureResult
                }.get()
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

    @Test("the held part of a request is its head's final CRLF and everything after it")
    func heldPart() {
        let bodyless = ByteBuffer(string: "POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(bodyless) == bodyless.readableBytes - 2)
        let bodied = ByteBuffer(string: "POST /ship HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(bodied) == bodied.readableBytes - 4)
        #expect(ReleaseHoldback.bytesBeforeHeadEnd(ByteBuffer(string: "abc")) == 2)
    }
}
