import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import TurnstileLoad

@Suite("PreEncodedRequestWriter")
struct PreEncodedRequestWriterTests {
    @Test("a request goes out as its pre-encoded bytes, once, body included; the decoder still sees the head")
    func writesPreEncodedBytesOnce() throws {
        // A stale Content-Length and Host of the request's own give way to the right ones.
        let load = LoadRequest(
            endpoint: "book", method: .POST, path: "/bookings/",
            headers: ["content-length": "99", "Authorization": "Bearer t", "HOST": "elsewhere"],
            body: ByteBuffer(string: "{}"))
        let target = try LoadTarget(parsing: "http://127.0.0.1:8080/api/v1")
        let request = PreEncodedRequest(load, for: target, allocator: ByteBufferAllocator())
        #expect(
            String(buffer: request.bytes)
                == "POST /api/v1/bookings/ HTTP/1.1\r\nAuthorization: Bearer t\r\nHost: 127.0.0.1:8080\r\n"
                + "Content-Length: 2\r\n\r\n{}")
        #expect(request.head.method == .POST && request.head.uri == "/api/v1/bookings/")

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
