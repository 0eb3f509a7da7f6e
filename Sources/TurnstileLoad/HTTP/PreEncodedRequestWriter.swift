import NIOCore
import NIOHTTP1

/// A request as it goes on the wire: its head (for NIO's response decoder, which must see every request head to
/// parse the answer to it: a HEAD's answer has no body) and its bytes, head and body, encoded once.
struct PreEncodedRequest {
    let head: HTTPRequestHead
    let bytes: ByteBuffer

    /// `request` for `target`, encoded straight from its parts: its own headers, then `Host` and `Content-Length`
    /// unless it set them. The head kept for the decoder carries only what the decoder reads, the method and URI.
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
        head = HTTPRequestHead(version: .http1_1, method: request.method, uri: uri)
        self.bytes = bytes
    }
}

/// Stands where NIO's `HTTPRequestEncoder` would: when a request head passes (after the response decoder noted it),
/// it writes the request's pre-encoded bytes instead of encoding the head again. The connection sets
/// ``nextRequestBytes`` right before it writes the head; bodies are part of those bytes.
///
/// Encoding each request once per connection, instead of on every send, is one of the engine's savings against
/// wrk (see BENCHMARKS.md).
final class PreEncodedRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    var nextRequestBytes: ByteBuffer?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            guard let bytes = nextRequestBytes else {
                preconditionFailure("the connection sets a request's bytes before writing its head")
            }
            nextRequestBytes = nil
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
        case .body:
            // Already part of the pre-encoded bytes.
            promise?.succeed()
        case .end:
            // Nothing left to write; the promise completes in order behind the bytes before it.
            context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
        }
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
