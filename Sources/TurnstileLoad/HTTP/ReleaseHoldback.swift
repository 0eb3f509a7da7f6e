import NIOCore

/// Passes encoded request bytes to the socket but keeps back the end of each request — the blank line's final CRLF
/// that ends its head, and its body — until a ``Release`` event: the barrier's way of having the server receive
/// every request of a race at the same instant.
///
/// Holding back only a request's last byte is not enough. A server can answer once it has the head: a route that
/// ignores the body (`POST /orders/1/pay`) answers before the body's last byte arrives, and a request without a body
/// has no body byte to hold. No HTTP/1.1 parser can complete a head that lacks its final CRLF, so nothing of the
/// request can be answered before the release.
///
/// Sits below the connection's request writer, so it sees each request's bytes as written, and records when it let
/// them go, for the release spread.
final class ReleaseHoldback: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Sent down the pipeline to let the held bytes go.
    struct Release {}

    private static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)

    private var held: ByteBuffer?
    private var isReleased = false
    /// When the held bytes were handed to the socket, once released.
    private(set) var releasedAt: NIODeadline?
    /// How many bytes the release handed to the socket.
    private(set) var releasedByteCount = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !isReleased, case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes > 0 else {
            context.write(data, promise: promise)
            return
        }
        if var held {
            // Bytes after the held part (not written by the engine, which writes a request in one buffer) wait too.
            held.writeBuffer(&buffer)
            self.held = held
            promise?.succeed()
            return
        }
        let sent = buffer.readSlice(length: Self.bytesBeforeHeadEnd(buffer))!
        held = buffer
        context.write(wrapOutboundOut(.byteBuffer(sent)), promise: promise)
    }

    /// How many bytes may go before the release: everything up to the final CRLF of the head, or all but the last
    /// byte when the bytes hold no head's end.
    static func bytesBeforeHeadEnd(_ buffer: ByteBuffer) -> Int {
        let bytes = buffer.readableBytesView
        if let end = bytes.firstRange(of: headEnd) {
            return bytes.distance(from: bytes.startIndex, to: end.lowerBound) + 2
        }
        return bytes.count - 1
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is Release else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        isReleased = true
        releasedAt = .now()
        if let held {
            self.held = nil
            releasedByteCount = held.readableBytes
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(held)), promise: promise)
        } else {
            promise?.succeed()
        }
    }
}
