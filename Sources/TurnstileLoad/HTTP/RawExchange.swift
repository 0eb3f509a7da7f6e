import Foundation
import NIOCore
import NIOPosix

/// One request written as raw bytes on a fresh connection, and whatever comes back until the server closes it: for
/// inputs the well-behaved client cannot send (oversized headers, invalid bytes, a body that never finishes).
///
/// The request should say `Connection: close`, so that a complete answer ends with the server closing.
public enum RawExchange {
    /// How an exchange ended.
    public enum Outcome: Sendable, Equatable {
        /// The server answered with this status (its content type, if any) and closed.
        case answered(status: Int, contentType: String?)
        /// The server closed the connection without a word.
        case closedSilently
        /// The connection was reset.
        case reset
        /// Nothing ended the exchange in time: a hang.
        case timedOut
        /// The connection could not be opened.
        case refused(String)
    }

    /// Connects to `target`, writes `bytes`, and reads until the server closes or `timeout` passes. With `trickle`,
    /// it then writes those bytes one at a time, `every` apart, while the connection is open: a client that keeps a
    /// request alive without ever finishing it.
    public static func send(
        _ bytes: [UInt8], to target: LoadTarget, on eventLoop: any EventLoop, timeout: TimeAmount,
        trickle: (bytes: [UInt8], every: TimeAmount)? = nil
    ) async -> Outcome {
        let collector = eventLoop.makePromise(of: Outcome.self)
        let bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(.seconds(5)).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try target.tls?.add(to: channel, offering: .http1)
                try channel.pipeline.syncOperations.addHandler(Collector(promise: collector, timeout: timeout))
            }
        }
        do {
            let channel = try await bootstrap.connect(host: target.host, port: target.port).get()
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
            if let trickle {
                let remaining = NIOLoopBoundBox.makeBoxSendingValue(trickle.bytes[...], eventLoop: channel.eventLoop)
                channel.eventLoop.scheduleRepeatedTask(initialDelay: trickle.every, delay: trickle.every) { task in
                    guard channel.isActive, let byte = remaining.value.popFirst() else { return task.cancel() }
                    channel.writeAndFlush(ByteBuffer(bytes: [byte]), promise: nil)
                }
            }
        } catch {
            return .refused("\(error)")
        }
        return (try? await collector.futureResult.get()) ?? .timedOut
    }

    /// Gathers the bytes the server sends and completes once, on close, reset or timeout.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let promise: EventLoopPromise<Outcome>
        private let timeout: TimeAmount
        private var received: [UInt8] = []
        private var finished = false
        private var timer: Scheduled<Void>?

        init(promise: EventLoopPromise<Outcome>, timeout: TimeAmount) {
            self.promise = promise
            self.timeout = timeout
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                let (collector, context) = loopBound.value
                collector.finish(.timedOut)
                context.close(promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(buffer: unwrapInboundIn(data))
            // A complete answer ends the exchange even if the server keeps the connection open.
            if let length = Self.completeResponseLength(received) {
                finish(Self.outcome(of: Array(received.prefix(length))))
                context.close(promise: nil)
            }
        }

        /// The length of the first response in `bytes` once all of it (head and `Content-Length` body) is there.
        static func completeResponseLength(_ bytes: [UInt8]) -> Int? {
            let separator: [UInt8] = [13, 10, 13, 10]
            guard
                let headEnd = bytes.indices.dropLast(3).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) })
            else { return nil }
            let head = String(decoding: bytes[..<headEnd], as: UTF8.self).lowercased()
            let length =
                head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            return bytes.count >= headEnd + 4 + length ? headEnd + 4 + length : nil
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(Self.outcome(of: received))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if let error = error as? IOError, error.errnoCode == ECONNRESET {
                finish(received.isEmpty ? .reset : Self.outcome(of: received))
            }
            context.close(promise: nil)
        }

        private func finish(_ outcome: Outcome) {
            guard !finished else { return }
            finished = true
            timer?.cancel()
            promise.succeed(outcome)
        }

        /// The status and content type of the first response in `bytes`, or a silent close when there is none.
        static func outcome(of bytes: [UInt8]) -> Outcome {
            guard !bytes.isEmpty else { return .closedSilently }
            let text = String(decoding: bytes.prefix(16_384), as: UTF8.self)
            let head = text.components(separatedBy: "\r\n\r\n").first ?? text
            let lines = head.components(separatedBy: "\r\n")
            let statusParts = lines.first?.split(separator: " ") ?? []
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
                return .answered(status: 0, contentType: nil)
            }
            let contentType = lines.dropFirst().first { $0.lowercased().hasPrefix("content-type:") }
                .map { String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces) }
            return .answered(status: status, contentType: contentType)
        }
    }
}
