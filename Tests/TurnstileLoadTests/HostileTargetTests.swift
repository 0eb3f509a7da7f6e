import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TurnstileReport
import TurnstileTestSupport

@testable import TurnstileLoad

/// The engine against targets that answer endlessly, hugely, at a trickle or before they were asked: every answer
/// it keeps is capped, every set-up call has one deadline, and no answer is taken for a request it did not answer.
@Suite("Hostile targets", .timeLimit(.minutes(1)))
struct HostileTargetTests {
    static let mebibyte = 1 << 20

    func session(
        _ port: Int, answerBytesKeptMax: Int = LoadLimits.answerBytesKeptDefault,
        timeouts: HTTPClientConnection.Timeouts = .init(read: .seconds(10), response: .seconds(10))
    ) throws -> APISession {
        let target = try LoadTarget(
            parsing: "http://127.0.0.1:\(port)", http: HTTPOptions(answerBytesKeptMax: answerBytesKeptMax))
        return APISession(target: target, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), timeouts: timeouts)
    }

    static let readBack = LoadRequest(endpoint: "state", method: .GET, path: "/state")

    @Test("an endless answer to a read-back fails at the cap, and the engine stops reading it")
    func endlessAnswer() async throws {
        try await HostileTarget.with(.endless) { target in
            let session = try session(target.port, answerBytesKeptMax: Self.mebibyte)
            await #expect {
                try await session.call(Self.readBack, expecting: .success)
            } throws: { error in
                (error as? LoadError)?.description == "protocol: the answer is larger than 1.0 MiB, the most kept "
                    + "(--max-answer-size)"
            }
            // What the target could push past the cap is what the sockets' buffers hold, not the gigabytes it would
            // have sent a reader that kept on reading.
            #expect(target.bodyBytesWritten < 64 * Self.mebibyte, "\(target.bodyBytesWritten) bytes")
            // A protocol error is the target's answer, wrong: it is not asked again.
            #expect(target.connectionsAccepted == 1)
        }
    }

    @Test("a huge answer with a length fails the same way, and a small one under the cap is kept whole")
    func hugeAnswer() async throws {
        try await HostileTarget.with(.huge(bytes: 64 * Self.mebibyte)) { target in
            let session = try session(target.port, answerBytesKeptMax: Self.mebibyte)
            await #expect {
                try await session.call(Self.readBack, expecting: .success)
            } throws: { error in
                (error as? LoadError)?.detail.hasPrefix("the answer is larger than 1.0 MiB") == true
            }
        }
        try await HostileTarget.with(.huge(bytes: Self.mebibyte)) { target in
            let session = try session(target.port, answerBytesKeptMax: Self.mebibyte)
            let response = try await session.call(Self.readBack, expecting: .success)
            #expect(response.body.readableBytes == Self.mebibyte)
        }
    }

    @Test("a trickled answer costs one set-up timeout, retries included, not one per try")
    func trickledAnswer() async throws {
        try await HostileTarget.with(.trickle(every: .milliseconds(100))) { target in
            let session = try session(target.port, timeouts: .init(read: .seconds(2), response: .seconds(2)))
            let started = ContinuousClock.now
            await #expect {
                try await session.call(Self.readBack, expecting: .success)
            } throws: { error in
                (error as? LoadError)?.kind == .timeout
            }
            let elapsed = ContinuousClock.now - started
            // One try: before the deadline was one, this took 4 tries of 2 s and 3 s of pauses between them (11 s).
            // The margin is for a machine busy with every other test.
            #expect(elapsed < .seconds(6), "\(elapsed)")
            #expect(target.connectionsAccepted == 1)
        }
    }

    @Test("an answer to a request not yet sent is never taken for it: the connection is not used again")
    func answerAhead() async throws {
        try await HostileTarget.with(.answersTwice) { target in
            let loadTarget = try LoadTarget(parsing: "http://127.0.0.1:\(target.port)")
            let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
            let connection = try await HTTPClientConnection.connect(to: loadTarget, on: eventLoop).get()
            defer { connection.close() }
            let first = try await eventLoop.flatSubmit { connection.send(Self.readBack, timeouts: .init()) }.get()
            #expect(first.status == 200)
            // The second answer came with the first, or after it, while no request was written.
            let second = await Result {
                try await eventLoop.flatSubmit { connection.send(Self.readBack, timeouts: .init()) }.get()
            }
            if case .success(let response) = second {
                Issue.record("the answer sent ahead was taken: \(response.status)")
            }
            #expect(try await eventLoop.submit { connection.isReusable }.get() == false)
        }
    }
}

extension Result where Failure == any Error {
    /// The result of an async throwing body.
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
