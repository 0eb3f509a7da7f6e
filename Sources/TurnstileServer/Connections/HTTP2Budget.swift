import HTTPTypes
import NIOCore
import NIOHTTP2
import NIOHTTPTypes
import Synchronization
import TurnstileCore

/// What all HTTP/2 connections of one server may hold together: streams whose request bodies have not finished, and
/// answer bytes written for clients that have not taken them yet. Shared by every connection's ``HTTP2Budget``.
final class HTTP2Budgets: Sendable {
    let unfinishedStreamsMax: Int
    let queuedBytesMax: Int
    let unfinishedStreams = Atomic<Int>(0)
    let queuedBytes = Atomic<Int>(0)

    init(
        unfinishedStreamsMax: Int = Limits.http2UnfinishedStreamsMax, queuedBytesMax: Int = Limits.http2QueuedBytesMax
    ) {
        self.unfinishedStreamsMax = unfinishedStreamsMax
        self.queuedBytesMax = queuedBytesMax
    }
}

/// One HTTP/2 connection's budget, in its pipeline beside NIOHTTP2's handler; its streams' ``HTTP2StreamBudget``s
/// report to it. It closes the connection of a client that does not read:
///
/// - answer bytes written and not yet taken by the client (held back by a flow-control window it never opens, or by
///   a socket it never drains) past ``Limits/http2QueuedBytesPerConnectionMax`` for a second, or past the server's
///   total ``Limits/http2QueuedBytesMax``;
/// - answers that made no progress at all for ``Limits/http2StalledSecondsMax``.
///
/// and closes a connection told to go away (GOAWAY: a graceful shutdown, or idle past the timeout) that is still open
/// ``Limits/http2GracefulCloseSecondsMax`` later, whatever its client does: Hummingbird's own grace starts only once
/// the client has answered the PING sent with the first GOAWAY, so a client that never answers would hold it for ever.
///
/// It also refuses (resets) a stream that would make more than ``HTTP2Budgets/unfinishedStreamsMax`` (by default
/// ``Limits/http2UnfinishedStreamsMax``) requests on the server wait for the rest of their bodies: a stream waiting for
/// its body costs memory until it ends.
final class HTTP2Budget: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let budgets: HTTP2Budgets
    private var context: ChannelHandlerContext?
    private var sweep: RepeatedTask?
    private(set) var unfinishedStreams = 0
    private(set) var queuedBytes = 0
    /// When held bytes last went on, or when bytes were first held after none were.
    private var lastProgress = NIODeadline.now()
    /// When the queue last went over the connection's bound, while it stays over it.
    private var overSince: NIODeadline?
    /// The close that follows the connection's first GOAWAY.
    private var graceEnd: Scheduled<Void>?

    init(budgets: HTTP2Budgets) {
        self.budgets = budgets
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweep = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            bound.value.check()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweep?.cancel()
        graceEnd?.cancel()
        budgets.unfinishedStreams.subtract(unfinishedStreams, ordering: .relaxed)
        budgets.queuedBytes.subtract(queuedBytes, ordering: .relaxed)
        (unfinishedStreams, queuedBytes) = (0, 0)
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if graceEnd == nil, case .goAway = unwrapOutboundIn(data).payload {
            let channel = context.channel
            graceEnd = context.eventLoop.scheduleTask(in: .seconds(Int64(Limits.http2GracefulCloseSecondsMax))) {
                channel.close(promise: nil)
            }
        }
        context.write(data, promise: promise)
    }

    /// A stream's request began without its end: whether there is room for one more unfinished body.
    func beginUnfinished() -> Bool {
        guard budgets.unfinishedStreams.add(1, ordering: .relaxed).newValue <= budgets.unfinishedStreamsMax else {
            budgets.unfinishedStreams.subtract(1, ordering: .relaxed)
            return false
        }
        unfinishedStreams += 1
        return true
    }

    /// An unfinished body ended (or its stream did).
    func endUnfinished() {
        unfinishedStreams -= 1
        budgets.unfinishedStreams.subtract(1, ordering: .relaxed)
    }

    /// `bytes` of an answer are held for a client that is not taking them (their stream cannot pass them on); past the
    /// server's total, the connection is closed at once.
    func queued(_ bytes: Int) {
        if queuedBytes == 0 { lastProgress = .now() }
        queuedBytes += bytes
        if queuedBytes > Limits.http2QueuedBytesPerConnectionMax, overSince == nil { overSince = .now() }
        if budgets.queuedBytes.add(bytes, ordering: .relaxed).newValue > budgets.queuedBytesMax {
            context?.close(promise: nil)
        }
    }

    /// `bytes` held before are on their way (their stream can pass its bytes on again), or were dropped with it.
    func drained(_ bytes: Int) {
        guard context != nil else { return }
        queuedBytes -= bytes
        budgets.queuedBytes.subtract(bytes, ordering: .relaxed)
        lastProgress = .now()
        if queuedBytes <= Limits.http2QueuedBytesPerConnectionMax { overSince = nil }
    }

    /// Closes a connection whose client has stopped taking its answers.
    private func check() {
        guard let context, queuedBytes > 0 else { return }
        let now = NIODeadline.now()
        let stalled = now - lastProgress >= .seconds(Int64(Limits.http2StalledSecondsMax))
        let overLong = overSince.map { now - $0 >= .seconds(1) } ?? false
        if stalled || overLong { context.close(promise: nil) }
    }
}

/// One HTTP/2 stream's side of its connection's ``HTTP2Budget``: it reports its unfinished request body, and the bytes
/// of its answer while the stream cannot pass them on (its window shut, the socket full), refuses a stream the budget
/// has no room for, and resets a stream that
/// was answered before its request ended (a 408 for a body too slow, a 413), so that it neither holds the connection
/// nor waits for a body nobody will read. The connection's other streams go on.
final class HTTP2StreamBudget: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var budget: HTTP2Budget?
    /// Whether the request's head has arrived and its end has not.
    private var isUnfinished = false
    /// Whether the stream holds one of the budget's places for an unfinished body.
    private var isCounted = false
    /// The bytes of its answer written to the stream since it was last writable, and how many of them the budget holds
    /// as not taken.
    private var bytesWritten = 0
    private var bytesReported = 0

    func handlerAdded(context: ChannelHandlerContext) {
        budget = context.channel.parent.flatMap { try? $0.pipeline.syncOperations.handler(type: HTTP2Budget.self) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        drain()
    }

    /// The stream stops being writable when NIOHTTP2 holds more of its bytes than it may pass on (its client's
    /// flow-control window is shut, or the connection's socket is full): from then until it is writable again, its
    /// answer's bytes count as held for a client that does not take them.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() } else { report() }
        context.fireChannelWritabilityChanged()
    }

    private func report() {
        guard let budget, bytesWritten > bytesReported else { return }
        budget.queued(bytesWritten - bytesReported)
        bytesReported = bytesWritten
    }

    /// Everything written before the stream became writable again has gone on (or fits within what NIOHTTP2 holds
    /// for any stream): counting starts afresh.
    private func drain() {
        if let budget, bytesReported > 0 { budget.drained(bytesReported) }
        (bytesWritten, bytesReported) = (0, 0)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: isUnfinished = true
        case .body: break
        case .end:
            isUnfinished = false
            release()
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A request whose end came in the same read as its head (every request without a body, most with one) never
        // takes a place: only one still waiting for its body once the read is done costs anything.
        if isUnfinished, !isCounted, let budget {
            guard budget.beginUnfinished() else {
                context.close(promise: nil)
                return
            }
            isCounted = true
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(let buffer):
            // Counted for the budget only while the stream cannot pass its bytes on (below), so that an answer to a
            // client that reads costs no more than this addition.
            bytesWritten += buffer.readableBytes
            if !context.channel.isWritable { report() }
        case .end where isUnfinished:
            // Answered before its request ended: nothing more of the request will be read, so the stream is reset
            // once the answer is out, rather than left waiting for a body.
            let channel = context.channel
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
            context.write(data, promise: written)
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    private func release() {
        guard isCounted else { return }
        isCounted = false
        budget?.endUnfinished()
    }
}
