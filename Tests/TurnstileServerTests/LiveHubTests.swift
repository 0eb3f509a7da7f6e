import Foundation
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import TurnstileCore
import TurnstileStore

@testable import TurnstileServer

/// The hub and a feed connection's handler on NIO's embedded channels, with the real frame encoder: the exact bytes
/// each subscriber is written, parsed back into frames.
struct LiveHubTests {
    @Test("a subscriber that falls too far behind is closed with 1008; the others keep receiving")
    func slowConsumer() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let slow = try feed(hub, .item(1), on: loop)
        let fast = try feed(hub, .item(1), on: loop)
        let other = try feed(hub, .item(2), on: loop)
        #expect(hub.subscriberCount == 3)
        for channel in [slow, fast, other] {
            let frames = try written(channel)
            #expect(frames.count == 1 && frames[0].opcode == .text)
            #expect(frames.first?.text.contains(#""type":"subscribed""#) == true)
        }

        // The network stopped taking the slow subscriber's bytes: its backlog is over the bound.
        slow.isWritable = false
        hub.publish([.bid(Bid(itemID: 1, seq: 1, bidderID: 7, amountCents: 500, createdAt: Date()))])
        loop.run()

        let slowFrames = try written(slow)
        #expect(slowFrames.map(\.opcode) == [.connectionClose])
        var closeData = try #require(slowFrames.first).data
        #expect(closeData.readWebSocketErrorCode() == .policyViolation)
        #expect(closeData.readString(length: closeData.readableBytes)?.hasPrefix("slow consumer") == true)

        let delivered = try written(fast)
        #expect(delivered.map(\.opcode) == [.text])
        #expect(delivered.first?.text.contains(#""seq":1"#) == true)
        #expect(delivered.first?.text.contains(#""amount_cents":500"#) == true)
        #expect(try written(other).isEmpty)
        #expect(hub.subscriberCount == 2)

        // Later bids reach the subscribers still connected, and no longer the one cut off.
        hub.publish([.bid(Bid(itemID: 1, seq: 2, bidderID: 8, amountCents: 600, createdAt: Date()))])
        loop.run()
        #expect(try written(fast).first?.text.contains(#""seq":2"#) == true)
        #expect(try written(slow).isEmpty)
    }

    @Test("a closing client gets its close code echoed, leaves the hub, and the server closes the connection at once")
    func clientCloses() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let channel = try feed(hub, .event(3), on: loop)
        _ = try written(channel)
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        try channel.writeInbound(Self.clientFrame(.connectionClose, code))
        loop.run()
        let echoed = try written(channel)
        #expect(echoed.map(\.opcode) == [.connectionClose])
        var echoedData = try #require(echoed.first).data
        #expect(echoedData.readWebSocketErrorCode() == .normalClosure)
        #expect(hub.subscriberCount == 0)
        // RFC 6455 §7.1.1: the server closes the TCP connection first, with no time passing.
        #expect(!channel.isActive)
    }

    @Test("over TLS the server lets the client close first, and closes once it has")
    func clientClosesOverTLS() throws {
        let loop = EmbeddedEventLoop()
        let channel = try closedByClientOverTLS(on: loop)
        // A TLS shutdown that crosses the client's own would wait five seconds.
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        loop.run()
        #expect(!channel.isActive)
    }

    @Test("a closing client over TLS that never closes its side is dropped after the close timeout")
    func clientClosesButStays() throws {
        let loop = EmbeddedEventLoop()
        let channel = try closedByClientOverTLS(on: loop)
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(Int64(Limits.liveCloseTimeoutSeconds)))
        #expect(!channel.isActive)
    }

    /// A TLS subscriber's connection whose client has sent its close frame (1000), and had it echoed.
    private func closedByClientOverTLS(on loop: EmbeddedEventLoop) throws -> EmbeddedChannel {
        let channel = try feed(LiveHub(), .event(3), on: loop, closesFirst: false)
        _ = try written(channel)
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        try channel.writeInbound(Self.clientFrame(.connectionClose, code))
        loop.run()
        return channel
    }

    @Test("a message frame is a valid text frame at every length encoding")
    func frameLengths() throws {
        for length in [0, 125, 126, 65_535, 65_536] {
            let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: length)
            var frame = LiveMessage.textFrame(payload)
            let parsed = try #require(try Self.parse(&frame).first)
            #expect(parsed.opcode == .text && parsed.data == payload && frame.readableBytes == 0)
        }
    }

    /// A feed connection: the real frame encoder, then the feed's handler (which puts its frame writer first).
    @Test("a subscriber whose side of the connection closes leaves the hub at once, close frame or not")
    func inputClosed() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let gone = try feed(hub, .item(1), on: loop)
        let staying = try feed(hub, .item(1), on: loop)
        #expect(hub.subscriberCount == 2)
        // What the server sees when a client drops its socket: half-closure is allowed, so EOF is this event.
        gone.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        loop.run()
        #expect(hub.subscriberCount == 1)
        #expect(!gone.isActive)
        #expect(staying.isActive)
    }

    @Test("an idle subscriber is pinged; one that answers stays, one that does not is dropped at the next ping")
    func pings() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let answering = try feed(hub, .item(1), on: loop, pingInterval: .seconds(1))
        let silent = try feed(hub, .item(1), on: loop, pingInterval: .seconds(1))
        _ = try written(answering)
        _ = try written(silent)

        loop.advanceTime(by: .seconds(1))
        #expect(try written(answering).map(\.opcode) == [.ping])
        #expect(try written(silent).map(\.opcode) == [.ping])
        try answering.writeInbound(Self.clientFrame(.pong, ByteBuffer()))

        loop.advanceTime(by: .seconds(1))
        #expect(answering.isActive && !silent.isActive)
        #expect(hub.subscriberCount == 1)
        #expect(try written(answering).map(\.opcode) == [.ping], "pinged again")
    }

    @Test("pongs count against the backlog: a client that floods pings without reading is closed with 1008")
    func pingFlood() throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let flooder = try feed(hub, .item(1), on: loop)
        _ = try written(flooder)
        try flooder.writeInbound(Self.clientFrame(.ping, ByteBuffer(string: "a")))
        #expect(try written(flooder).map(\.opcode) == [.pong])
        // The network stopped taking its bytes: the next ping is not answered, the flooder is closed.
        flooder.isWritable = false
        try flooder.writeInbound(Self.clientFrame(.ping, ByteBuffer(string: "b")))
        let frames = try written(flooder)
        #expect(frames.map(\.opcode) == [.connectionClose])
        var data = try #require(frames.first).data
        #expect(data.readWebSocketErrorCode() == .policyViolation)
        #expect(hub.subscriberCount == 0)
    }

    @Test(
        "frames RFC 6455 forbids a client fail the connection with 1002",
        arguments: ["unmasked", "reserved opcode", "reserved bit"])
    func invalidClientFrames(_ kind: String) throws {
        let hub = LiveHub()
        let loop = EmbeddedEventLoop()
        let channel = try feed(hub, .item(1), on: loop)
        _ = try written(channel)
        let frame: WebSocketFrame =
            switch kind {
            case "unmasked": WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "x"))
            case "reserved opcode":
                WebSocketFrame(
                    fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 3)!, maskKey: Self.mask,
                    data: ByteBuffer())
            default: WebSocketFrame(fin: true, rsv1: true, opcode: .ping, maskKey: Self.mask, data: ByteBuffer())
            }
        try channel.writeInbound(frame)
        let frames = try written(channel)
        #expect(frames.map(\.opcode) == [.connectionClose])
        var data = try #require(frames.first).data
        #expect(data.readWebSocketErrorCode() == .protocolError)
        #expect(hub.subscriberCount == 0)
    }

    @Test("an interrupted feed closes every subscriber with 1013, admits nobody, and voids earlier tickets")
    func interruptedFeed() throws {
        let changes = ChangeFeed()
        let hub = LiveHub(feed: changes)
        let loop = EmbeddedEventLoop()
        let subscribers = [try feed(hub, .item(1), on: loop), try feed(hub, .event(2), on: loop)]
        for channel in subscribers { _ = try written(channel) }
        let admittedBefore = try #require(hub.ticket())

        changes.interrupt()
        loop.run()
        for channel in subscribers {
            let frames = try written(channel)
            #expect(frames.map(\.opcode) == [.connectionClose])
            var data = try #require(frames.first).data
            #expect(data.readWebSocketErrorCode() == .unknown(1013))
            #expect(data.readString(length: data.readableBytes) == LiveHub.interruptedReason)
        }
        #expect(hub.subscriberCount == 0)
        #expect(hub.ticket() == nil, "nobody joins a feed that may be missing changes")
        changes.publish([.bid(Bid(itemID: 1, seq: 1, bidderID: 7, amountCents: 500, createdAt: Date()))])
        loop.run()
        for channel in subscribers { #expect(try written(channel).isEmpty, "nothing after the close frame") }

        // Heard again: new subscribers join and receive; one admitted before the interruption is turned away.
        changes.resume()
        let late = try feed(hub, .item(1), on: loop, ticket: admittedBefore)
        let lateFrames = try written(late)
        #expect(lateFrames.map(\.opcode) == [.connectionClose])
        var lateData = try #require(lateFrames.first).data
        #expect(lateData.readWebSocketErrorCode() == .unknown(1013))
        let fresh = try feed(hub, .item(1), on: loop)
        _ = try written(fresh)
        #expect(hub.subscriberCount == 1)
        changes.publish([.bid(Bid(itemID: 1, seq: 2, bidderID: 7, amountCents: 600, createdAt: Date()))])
        loop.run()
        #expect(try written(fresh).first?.text.contains(#""seq":2"#) == true)

        // A PostgreSQL instance's feed before its first LISTEN: nobody is admitted until it hears the others.
        #expect(LiveHub(feed: ChangeFeed(complete: false)).ticket() == nil)
    }

    private static let mask: WebSocketMaskingKey = [1, 2, 3, 4]

    /// A frame as a client must send it: masked.
    private static func clientFrame(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> WebSocketFrame {
        var data = payload
        data.webSocketMask(mask)
        return WebSocketFrame(fin: true, opcode: opcode, maskKey: mask, data: data)
    }

    /// A subscriber's connection, admitted with `ticket` (by default, one the hub issues now).
    private func feed(
        _ hub: LiveHub, _ topic: LiveTopic, on loop: EmbeddedEventLoop, ticket: LiveHub.Ticket? = nil,
        closesFirst: Bool = true, pingInterval: TimeAmount = .seconds(Int64(Limits.livePingIntervalSeconds))
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        let ticket = try #require(ticket ?? hub.ticket(), "the hub admits nobody: its feed is interrupted")
        try channel.pipeline.syncOperations.addHandlers(
            WebSocketFrameEncoder(),
            LiveFeedHandler(
                hub: hub, topic: topic, ticket: ticket, closesFirst: closesFirst, pingInterval: pingInterval))
        // Connected, so that `isActive` tells whether the handler closed it.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Every byte the channel wrote since the last call, parsed into frames.
    private func written(_ channel: EmbeddedChannel) throws -> [Frame] {
        var bytes = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&part) }
        return try Self.parse(&bytes)
    }

    struct Frame {
        let opcode: WebSocketOpcode
        let data: ByteBuffer
        var text: String { String(buffer: data) }
    }

    /// Unmasked frames, as a server writes them (RFC 6455 §5.2).
    static func parse(_ bytes: inout ByteBuffer) throws -> [Frame] {
        var frames: [Frame] = []
        while bytes.readableBytes > 0 {
            guard let first = bytes.readInteger(as: UInt8.self), let second = bytes.readInteger(as: UInt8.self),
                let opcode = WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)
            else { throw MalformedFrame() }
            #expect(first & 0x80 != 0 && second & 0x80 == 0, "final and unmasked")
            var length = Int(second & 0x7F)
            if length == 126 { length = Int(bytes.readInteger(as: UInt16.self) ?? 0) }
            if length == 127 { length = Int(bytes.readInteger(as: UInt64.self) ?? 0) }
            guard let data = bytes.readSlice(length: length) else { throw MalformedFrame() }
            frames.append(Frame(opcode: opcode, data: data))
        }
        return frames
    }

    struct MalformedFrame: Error {}
}
