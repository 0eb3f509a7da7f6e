import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import TurnstileLoad

@Suite("PreEncodedRequestWriter")
struct PreEncodedRequestWriterTests {
    @Test("a request goes out as its pre-encoded bytes, once, body included; the decoder still sees the head")
    func writesPreEncodedBytesOnce() throws {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/api/v1/bookings/")
        head.headers.add(name: "Host", value: "127.0.0.1:8080")
        head.headers.add(name: "Content-Length", value: "2")
        let request = PreEncodedRequest(head, body: ByteBuffer(string: "{}"), allocator: ByteBufferAllocator())
        #expect(
            String(buffer: request.bytes)
                == "POST /api/v1/bookings/ HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 2\r\n\r\n{}")

        let writer = PreEncodedRequestWriter()
        let channel = EmbeddedChannel(handler: writer)
        writer.nextRequestBytes = request.bytes
        try channel.writeOutbound(HTTPClientRequestPart.head(request.head))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "{}"))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var sent = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { sent += String(buffer: buffer) }
        }
        #expect(sent == String(buffer: request.bytes))
        #expect(writer.nextRequestBytes == nil)
        #expect(try channel.finish().isClean)
    }
}
