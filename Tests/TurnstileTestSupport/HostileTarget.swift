import NIOCore
import NIOPosix
import Synchronization

/// A raw HTTP/1.1 server on loopback that misbehaves as a hostile or broken target does, to prove the engine stays
/// bounded against it. It never parses what it is sent; each connection gets the same treatment.
public final class HostileTarget: Sendable {
    public enum Behaviour: Sendable {
        /// A 200 whose chunked body never ends: chunks are written as long as the client reads them.
        case endless
        /// A 200 with a `Content-Length` of `bytes` (of a JSON string), sent at once.
        case huge(bytes: Int)
        /// A 200 whose body arrives one byte every `every`, and never ends.
        case trickle(every: TimeAmount)
        /// Two 200s with `{}` for the first request: the second answers a request not yet sent.
        case answersTwice
    }

    public let port: Int
    private let counters: Counters

    private init(port: Int, counters: Counters) {
        self.port = port
        self.counters = counters
    }

    /// Body bytes the server managed to hand to its sockets, all connections together.
    public var bodyBytesWritten: Int { counters.written.load(ordering: .relaxed) }
    /// Connections accepted so far.
    public var connectionsAccepted: Int { counters.connections.load(ordering: .relaxed) }

    /// Runs `body` against a hostile target on 127.0.0.1, then closes it and every connection it holds.
    public static func with<Result: Sendable>(
        _ behaviour: Behaviour, _ body: @Sendable (HostileTarget) async throws -> Result
    ) async throws -> Result {
        let counters = Counters()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.connections.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Misbehaviour(behaviour, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let target = HostileTarget(port: server.localAddress?.port ?? 0, counters: counters)
        do {
            let result = try await body(target)
            try? await server.close()
            return result
        } catch {
            try? await server.close()
            throw error
        }
    }

    /// Shared by the server's connections; its atomics are the target's.
    private final class Counters: Sendable {
        let written = Atomic<Int>(0)
        let connections = Atomic<Int>(0)
    }

    private final class Misbehaviour: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let behaviour: Behaviour
        private let counters: Counters
        private var answered = false
        private var trickle: RepeatedTask?
        /// Body bytes still to write of a huge answer.
        private var left = 0

        init(_ behaviour: Behaviour, counters: Counters) {
            self.behaviour = behaviour
            self.counters = counters
        }

        func channelActive(context: ChannelHandlerContext) {
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            switch behaviour {
            case .endless:
                write(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", context)
                writeMore(context)
            case .huge(let bytes):
                write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(bytes)\r\n\r\n", context)
                left = bytes
                writeMore(context)
            case .trickle(let every):
                write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", context)
                context.flush()
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                trickle = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
                    let (handler, context) = bound.value
                    handler.writeBody(" ", context)
                    context.flush()
                }
            case .answersTwice:
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                write(answer + answer, context)
                context.flush()
            }
        }

        /// Writes the body while the socket takes it, and more each time it drains: endless chunks, or what is left
        /// of a huge body (a JSON string of `a`s).
        private func writeMore(_ context: ChannelHandlerContext) {
            let chunk = String(repeating: "a", count: 1 << 16)
            while context.channel.isWritable, context.channel.isActive {
                switch behaviour {
                case .endless:
                    write(String(chunk.utf8.count, radix: 16) + "\r\n", context)
                    writeBody(chunk, context)
                    write("\r\n", context)
                case .huge(let bytes) where left > 0:
                    let count = min(left, chunk.utf8.count)
                    let piece = left == bytes ? "\"" + chunk.prefix(count - 1) : String(chunk.prefix(count))
                    left -= count
                    writeBody(left == 0 ? String(piece.dropLast()) + "\"" : piece, context)
                default:
                    return
                }
                context.flush()
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if answered { writeMore(context) }
            context.fireChannelWritabilityChanged()
        }

        func channelInactive(context: ChannelHandlerContext) {
            trickle?.cancel()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func write(_ text: String, _ context: ChannelHandlerContext) {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
        }

        private func writeBody(_ text: String, _ context: ChannelHandlerContext) {
            let counters = self.counters
            let count = text.utf8.count
            context.write(wrapOutboundOut(context.channel.allocator.buffer(string: text))).whenSuccess {
                counters.written.add(count, ordering: .relaxed)
            }
        }
    }
}
