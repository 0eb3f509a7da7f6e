import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import TurnstileCore

@testable import TurnstileServer

/// The hub and a feed connection's handler on NIO's embedded channels: what each subscriber is written, exactly.
struct LiveHubTests {
    @Test("a subscriber that falls too far behind is closed with 1008; the others keep receiving")
    func slowConsumer() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let slow = EmbeddedChannel(handler: LiveFeedHandler(hub: hub, topic: .item(1)), loop: loop)
        let fast = EmbeddedChannel(handler: LiveFeedHandler(hub: hub, topic: .item(1)), loop: loop)
        let other = EmbeddedChannel(handler: LiveFeedHandler(hub: hub, topic: .item(2)), loop: loop)
        #expect(hub.subscriberCount == 3)
        for channel in [slow, fast, other] {
            #expect(try text(channel.readOutbound(as: WebSocketFrame.self)).contains(#""type":"subscribed""#))
        }

        // The network stopped taking the slow subscriber's bytes: its backlog is over the bound.
        slow.isWritable = false
        hub.publish([.bid(Bid(itemID: 1, seq: 1, bidderID: 7, amountCents: 500, createdAt: Date()))])
        loop.run()

        let close = try #require(try slow.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        var closeData = close.data
        #expect(closeData.readWebSocketErrorCode() == .policyViolation)
        #expect(closeData.readString(length: closeData.readableBytes)?.hasPrefix("slow consumer") == true)
        #expect(try slow.readOutbound(as: WebSocketFrame.self) == nil)

        let delivered = try text(fast.readOutbound(as: WebSocketFrame.self))
        #expect(delivered.contains(#""seq":1"#) && delivered.contains(#""amount_cents":500"#))
        #expect(try other.readOutbound(as: WebSocketFrame.self) == nil)
        #expect(hub.subscriberCount == 2)

        // Later bids reach the subscribers still connected, and no longer the one cut off.
        hub.publish([.bid(Bid(itemID: 1, seq: 2, bidderID: 8, amountCents: 600, createdAt: Date()))])
        loop.run()
        #expect(try text(fast.readOutbound(as: WebSocketFrame.self)).contains(#""seq":2"#))
        #expect(try slow.readOutbound(as: WebSocketFrame.self) == nil)
    }

    @Test("a closing client gets its close code echoed and leaves the hub")
    func clientCloses() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: LiveFeedHandler(hub: hub, topic: .event(3)), loop: loop)
        _ = try channel.readOutbound(as: WebSocketFrame.self)
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
        loop.run()
        let echoed = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        var echoedData = echoed.data
        #expect(echoed.opcode == .connectionClose && echoedData.readWebSocketErrorCode() == .normalClosure)
        #expect(hub.subscriberCount == 0)
        #expect(!channel.isActive)
    }

    private func text(_ frame: WebSocketFrame?) throws -> String {
        let frame = try #require(frame)
        #expect(frame.opcode == .text)
        return String(buffer: frame.data)
    }
}
