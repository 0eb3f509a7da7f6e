import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
import TurnstileReport

@testable import TurnstileLoad

/// The client's response handling, on an embedded channel: no sockets, every byte chosen by the test.
@Suite("ResponseHandler")
struct ResponseHandlerTests {
    /// A channel with the client pipeline, a request sent, and the promise its response completes.
    private func exchange(
        keepBody: Bool = true,
        timeouts: HTTPClientConnection.Timeouts = .init(read: .seconds(60), response: .seconds(60))
    ) throws -> (EmbeddedChannel, EventLoopFuture<LoadResponse>) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        let handler = ResponseHandler()
        try channel.pipeline.syncOperations.addHandler(handler)
        let promise = channel.eventLoop.makePromise(of: LoadResponse.self)
        handler.expect(
            { result in
                switch result {
                case .success(let response): promise.succeed(response)
                case .failure(let error): promise.fail(error)
                }
            }, keepBody: keepBody, timeouts: timeouts)
        try channel.writeOutbound(HTTPClientRequestPart.head(.init(version: .http1_1, method: .GET, uri: "/")))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        return (channel, promise.futureResult)
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
