import NIOCore
import NIOHTTP1

/// A request as it goes on the wire: its head (for NIO's response decoder, which must see every request head to
/// parse the answer to it) and its bytes, head and body, encoded once.
struct PreEncodedRequest {
    let head: HTTPRequestHead
    let bytes: ByteBuffer

    init(_ head: HTTPRequestHead, body: ByteBuffer?, allocator: ByteBufferAllocator) {
        var bytes = allocator.buffer(capacity: 256 + (body?.readableBytes ?? 0))
        bytes.writeString(head.method.rawValue)
        bytes.writeString(" ")
        bytes.writeString(head.uri)
        bytes.writeString(" HTTP/1.1\r\n")
        for (name, value) in head.headers {
            bytes.writeString(name)
            bytes.writeString(": ")
            bytes.writeString(value)
            bytes.writeString("\r\n")
        }
        bytes.writeString("\r\n")
        if var body { bytes.writeBuffer(&body) }
        self.head = head
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
