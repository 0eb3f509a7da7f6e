import NIOCore
import NIOHTTP1
import Testing

@testable import TurnstileLoad

@Suite("PreEncodedRequest")
struct PreEncodedRequestTests {
    @Test("a request is encoded once from its parts, body included; its own Host and Content-Length give way")
    func encodedFromItsParts() throws {
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
    }
}
