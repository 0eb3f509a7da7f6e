import NIOCore
import NIOEmbedded
import Testing

@testable import TurnstileLoad

/// The race tests' barrier is only as good as its hold-back: nothing of a request's last byte may leave early.
@Suite("LastByteHoldback")
struct LastByteHoldbackTests {
    @Test("every byte but the last goes out at once; the last goes out on release")
    func holdsBackTheLastByte() throws {
        let channel = EmbeddedChannel(handler: LastByteHoldback())
        try channel.writeOutbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        try channel.writeOutbound(ByteBuffer(string: "\r\n"))
        var sent = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { sent += String(buffer: part) }
        #expect(sent == "GET / HTTP/1.1\r\n\r")

        channel.pipeline.triggerUserOutboundEvent(LastByteHoldback.Release(), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "\n")
        #expect(try channel.finish().isClean)
    }
}
