import NIOCore
import NIOEmbedded
import Testing

@testable import TurnstileLoad

/// The race tests' barrier is only as good as its hold-back: no request may become complete before its release.
@Suite("ReleaseHoldback")
struct ReleaseHoldbackTests {
    @Test("everything before the head's final CRLF goes out at once; the rest on release")
    func holdsBackTheEnd() throws {
        let channel = EmbeddedChannel(handler: ReleaseHoldback())
        try channel.writeOutbound(ByteBuffer(string: "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"))
        var sent = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { sent += String(buffer: part) }
        #expect(sent == "POST /x HTTP/1.1\r\nContent-Length: 2\r\n")

        channel.pipeline.triggerUserOutboundEvent(ReleaseHoldback.Release(), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "\r\n{}")
        #expect(try channel.finish().isClean)
    }
}
