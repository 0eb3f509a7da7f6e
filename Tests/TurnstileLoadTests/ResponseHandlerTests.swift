import NIOCore
import NIOEmbedded
import Testing
import TurnstileReport

@testable import TurnstileLoad

/// The client's response handling, on an embedded channel: no sockets, every byte chosen by the test.
@Suite("ResponseHandler")
struct ResponseHandlerTests {
    /// An embedded channel that is connected, so that a close shows.
    private static func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// A channel with the client pipeline, a request sent, and the promise its response completes.
    private func exchange(
        keepBody: Bool = true, written: Bool = true, answerBytesKeptMax: Int = LoadLimits.answerBytesKeptDefault,
        timeouts: HTTPClientConnection.Timeouts = .init(read: .seconds(60), response: .seconds(60)),
        isHead: Bool = false
    ) throws -> (EmbeddedChannel, EventLoopFuture<LoadResponse>) {
        let channel = try Self.connectedChannel()
        let handler = ResponseHandler(answerBytesKeptMax: answerBytesKeptMax)
        try channel.pipeline.syncOperations.addHandler(handler)
        let promise = channel.eventLoop.makePromise(of: LoadResponse.self)
        handler.expect(
            { result in
                switch result {
                case .success(let response): promise.succeed(response)
                case .failure(let error): promise.fail(error)
                }
            }, keepBody: keepBody, timeouts: timeouts, isHead: isHead)
        if written {
            try channel.writeOutbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
            // The connection tells the handler once the request's write completed.
            handler.requestWritten()
        }
        return (channel, promise.futureResult)
    }

    @Test("an answer that comes before the request is written in full is a protocol error, and closes")
    func answerBeforeRequest() throws {
        let (channel, response) = try exchange(written: false)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
        #expect { try response.wait() } throws: {
            ($0 as? LoadError)?.description == "protocol: the target answered before the request was sent in full"
        }
        #expect(!channel.isActive)
    }

    @Test("bytes that arrive when no request awaits an answer close the connection: never kept for the next request")
    func bytesBeforeRequest() throws {
        let channel = try Self.connectedChannel()
        let handler = ResponseHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
        #expect(!channel.isActive && !handler.isKeepAlive)
    }

    @Test("bytes beyond the awaited answer (one request answered twice) close the connection; the answer stands")
    func unsolicitedAnswer() throws {
        let (channel, response) = try exchange()
        try channel.writeInbound(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(try response.wait().status == 200)
        #expect(!channel.isActive)
    }

    @Test("a request sent from the last answer's completion gets its own answer, read from the start")
    func nextRequestFromCompletion() throws {
        let channel = try Self.connectedChannel()
        let handler = ResponseHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        var statuses: [Int] = []
        func send(_ left: Int) {
            handler.expect(
                { result in
                    statuses.append((try? result.get().status) ?? 0)
                    // As the executors do: the next request goes out from within the completion.
                    if left > 1 { send(left - 1) }
                }, keepBody: false, timeouts: .init(read: .seconds(60), response: .seconds(60)))
            handler.requestWritten()
        }
        send(3)
        for status in [201, 202, 203] {
            // Each answer in two reads, its head's end split, as a network may split it.
            try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 \(status) OK\r\nContent-Length: 2\r"))
            try channel.writeInbound(ByteBuffer(string: "\n\r\nok"))
        }
        #expect(statuses == [201, 202, 203] && channel.isActive)
        _ = try? channel.finish()
    }

    @Test("a HEAD's answer has no body, whatever its Content-Length says; the connection stays usable")
    func headAnswer() throws {
        let (channel, response) = try exchange(isHead: true)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n"))
        let result = try response.wait()
        #expect(result.status == 200 && result.bodyByteCount == 0 && channel.isActive)
        _ = try? channel.finish()
    }

    @Test("an answer framed by the connection's end completes when it closes, and is not reused")
    func untilClose() throws {
        let (channel, response) = try exchange()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nhello, "))
        try channel.writeInbound(ByteBuffer(string: "world"))
        channel.pipeline.fireChannelInactive()
        let result = try response.wait()
        #expect(String(buffer: result.body) == "hello, world")
    }

    @Test("a kept body larger than the cap fails its request and closes; a counted one is never kept")
    func keptBodyCap() throws {
        let (channel, response) = try exchange(answerBytesKeptMax: 4)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde"))
        #expect { try response.wait() } throws: { ($0 as? LoadError)?.detail.hasPrefix("the answer is larger") == true }
        #expect(!channel.isActive)
        let (counted, countedResponse) = try exchange(keepBody: false, answerBytesKeptMax: 4)
        try counted.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcdefghij"))
        let result = try countedResponse.wait()
        #expect(result.bodyByteCount == 10 && result.body.readableBytes == 0)
        _ = try? counted.finish()
    }

    @Test("a complete response completes the request with its status and body")
    func success() throws {
        let (channel, response) = try exchange()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhel"))
        try channel.writeInbound(ByteBuffer(string: "lo"))
        let result = try response.wait()
        #expect(result.status == 201)
        #expect(String(buffer: result.body) == "hello" && result.bodyByteCount == 5)
        _ = try? channel.finish()
    }

    @Test("garbage instead of HTTP is a protocol error")
    func protocolError() throws {
        let (channel, response) = try exchange()
        // The decoder's error travels down the pipeline to the handler, which fails the request and closes.
        _ = try? channel.writeInbound(ByteBuffer(string: "NONSENSE\r\n\r\n"))
        #expect { try response.wait() } throws: { ($0 as? LoadError)?.kind == .protocol }
    }

    @Test("a connection that closes mid-response is a reset, and is not reused")
    func reset() throws {
        let (channel, response) = try exchange()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        channel.pipeline.fireChannelInactive()
        #expect { try response.wait() } throws: { ($0 as? LoadError)?.kind == .reset }
    }
}

extension ResponseHandlerTests {
    @Test("silence longer than the read timeout is a timeout, on the loop's own clock")
    func readTimeout() throws {
        let (channel, response) = try exchange(timeouts: .init(read: .seconds(1), response: .seconds(10)))
        var isComplete = false
        response.assumeIsolated().whenComplete { _ in isComplete = true }
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(!isComplete, "bytes arrived within each second: still waiting")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect { try response.wait() } throws: { ($0 as? LoadError)?.description.contains("nothing received") == true }
    }

    @Test("a response trickling past the total timeout is a timeout")
    func responseTimeout() throws {
        let (channel, response) = try exchange(timeouts: .init(read: .seconds(1), response: .seconds(2)))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"))
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
            _ = try? channel.writeInbound(ByteBuffer(string: "a"))
        }
        #expect { try response.wait() } throws: {
            ($0 as? LoadError)?.description.contains("no complete response") == true
        }
    }
}
