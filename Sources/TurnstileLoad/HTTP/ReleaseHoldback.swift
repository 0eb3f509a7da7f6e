import NIOCore

/// Passes encoded request bytes to the socket but keeps the very last byte written, until a ``Release`` event:
/// the barrier's way of having the server receive every request of a race at the same instant.
///
/// Sits below NIO's `HTTPRequestEncoder`, so it works for requests with and without a body, and records when it let
/// the byte go, for the release spread.
final class LastByteHoldback: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Sent down the pipeline to let the held byte go.
    struct Release {}

    private var held: ByteBuffer?
    private var isReleased = false
    /// When the held byte was handed to the socket, once released.
    private(set) var releasedAt: NIODeadline?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !isReleased, case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes > 0 else {
            context.write(data, promise: promise)
            return
        }
        if let held {
            context.write(wrapOutboundOut(.byteBuffer(held)), promise: nil)
        }
        let allButLast = buffer.readSlice(length: buffer.readableBytes - 1)!
        held = buffer
        context.write(wrapOutboundOut(.byteBuffer(allButLast)), promise: promise)
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
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(held)), promise: promise)
        } else {
            promise?.succeed()
        }
    }
}
