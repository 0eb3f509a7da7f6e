import NIOCore
import NIOHTTP1

/// A request as it goes on the wire, head and body, encoded once per connection: one of the engine's savings against
/// wrk (see BENCHMARKS.md).
struct PreEncodedRequest {
    let bytes: ByteBuffer

    /// `request` for `target`, encoded straight from its parts: its own headers, then `Host` and `Content-Length`
    /// unless it set them.
    init(_ request: LoadRequest, for target: LoadTarget, allocator: ByteBufferAllocator) {
        let body = request.body
        var bytes = allocator.buffer(capacity: 256 + (body?.readableBytes ?? 0))
        let uri = target.basePath.isEmpty ? request.path : target.basePath + request.path
        bytes.writeString(request.method.rawValue)
        bytes.writeString(" ")
        bytes.writeString(uri)
        bytes.writeString(" HTTP/1.1\r\n")
        // The request's own Host and Content-Length, if it has them, give way to the right ones.
        for (name, value) in request.headers
        where !name.caseInsensitiveEquals("Host") && !name.caseInsensitiveEquals("Content-Length") {
            bytes.writeString(name)
            bytes.writeString(": ")
            bytes.writeString(value)
            bytes.writeString("\r\n")
        }
        bytes.writeString("Host: ")
        bytes.writeString(target.hostHeader)
        bytes.writeString("\r\nContent-Length: ")
        bytes.writeString(String(body?.readableBytes ?? 0))
        bytes.writeString("\r\n\r\n")
        if var body { bytes.writeBuffer(&body) }
        self.bytes = bytes
    }
}

extension String {
    /// ASCII case-insensitive equality, for header names.
    fileprivate func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count
            && zip(utf8, other.utf8).allSatisfy { a, b in
                a == b || ((a | 0x20) == (b | 0x20) && (0x61...0x7A).contains(a | 0x20))
            }
    }
}
