import Foundation
import NIOCore
import Synchronization
import TurnstileReport
import TurnstileWire

/// Fan-out: `connections` WebSocket subscribers watch one item while one bidder places `bids` bids, one after the
/// other, `interval` apart.
///
/// Every subscriber must receive every bid, in `seq` order. Reports the delivery ratio and two delivery latencies
/// (p50/p95/p99), as endpoints of the phase:
/// - `deliver`: from the first subscriber's receipt of a bid to each subscriber's: the broadcast's own spread, which
///   is the time from acceptance to receipt less the one publish-to-first-receipt hop;
/// - `deliver+bid`: from sending the bid's request to each receipt: an upper bound, since it includes the bid's own
///   trip through the store (its commit, fsync included).
///
/// With a memory probe (an embedded target), also the process's resident memory with every subscriber connected.
public struct FanoutSuite: Sendable {
    public struct Shape: Sendable, Equatable {
        public var connections: Int
        public var bids: Int
        public var interval: TimeAmount

        public init(connections: Int, bids: Int, interval: TimeAmount = .milliseconds(20)) {
            self.connections = connections
            self.bids = bids
            self.interval = interval
        }

        public var name: String { "fanout \(connections)×\(bids)" }
    }

    /// How long to wait, after the last bid was accepted, for its deliveries.
    static let deliveryGrace = TimeAmount.seconds(10)

    public let context: SuiteContext

    public init(_ context: SuiteContext) {
        self.context = context
    }

    /// Runs the fan-out with `bidder` placing the bids. `residentMemory`, when given, reads the target's resident
    /// memory in bytes (the engine's own process, for an embedded target).
    public func run(
        _ shape: Shape, bidder: VirtualUser, residentMemory: (@Sendable () -> Int?)? = nil,
        into report: inout RunReport
    ) async throws {
        let openFiles = LoadLimits.raiseOpenFileLimit()
        // An embedded target (the one a memory probe comes with) holds the server's end of each connection too.
        let filesNeeded = shape.connections * (residentMemory == nil ? 1 : 2) + 64
        guard openFiles == 0 || Int(openFiles) > filesNeeded else {
            throw SetupError(
                "\(shape.connections) subscribers need more open files than this process may have (\(openFiles)); "
                    + "raise the hard limit (ulimit -Hn) or use fewer --connections")
        }
        let session = context.session()
        // A seller of its own: a seller may not bid on their own item.
        let seller = try await context.provision(1)[0]
        let item = try await session.call(
            TurnstileAPI.createItem(
                title: shape.name, startingPriceCents: 100, minIncrementCents: 1, token: seller.token),
            expecting: 201, as: TurnstileAPI.Item.self)
        let memoryBefore = residentMemory?()
        let tally = FanoutTally(bids: shape.bids, expected: shape.connections * shape.bids)
        let startedAt = Date()
        let began = NIODeadline.now()

        context.progress?.note("\(shape.name): connecting \(shape.connections) subscribers to item \(item.id)…")
        let subscribers = try await subscribe(shape.connections, to: TurnstileAPI.itemFeed(item.id), tally: tally)
        defer { for subscriber in subscribers { subscriber.client.close() } }
        let memoryConnected = residentMemory?()

        context.progress?.note("\(shape.name): \(shape.connections) subscribed; placing \(shape.bids) bids")
        var bidStats = EndpointStats(name: "bid")
        for index in 1...shape.bids {
            let sent = NIODeadline.now()
            tally.sent(seq: index, at: sent)
            do {
                let response = try await session.call(
                    TurnstileAPI.bid(itemID: item.id, amountCents: 100 + index, token: bidder.token))
                bidStats.record(status: response.status, microseconds: Self.microseconds(from: sent, to: .now()))
            } catch let error as LoadError {
                bidStats.record(error: error.kind)
            }
            if index < shape.bids { try await Task.sleep(for: .nanoseconds(shape.interval.nanoseconds)) }
        }
        let complete = await tally.waitUntilComplete(orFor: Self.deliveryGrace)
        let duration = Double((NIODeadline.now() - began).nanoseconds) / 1e9
        let outcome = try await tally.outcome(of: subscribers.map { ($0.receipts, $0.client.channel.eventLoop) })

        let expected = shape.connections * shape.bids
        var phase = PhaseReport(
            name: shape.name, executor: "fanout", startedAt: startedAt, durationSeconds: duration,
            users: shape.connections, endpoints: [bidStats, outcome.deliveries, outcome.deliveriesSinceSent],
            timeline: [])
        phase.facts = [
            "delivery ratio \(Format.percent(100 * Double(outcome.delivered) / Double(max(expected, 1)))): "
                + "\(outcome.delivered) of \(expected) (\(shape.connections) subscribers × \(shape.bids) bids)",
            "'\(outcome.deliveries.name)' is each receipt after the bid's first receipt (the spread between "
                + "subscribers); '\(outcome.deliveriesSinceSent.name)' is each receipt after the bid was sent",
        ]
        report.phases.append(phase)
        context.progress?.finished(phase)
        // Closed and gone before whatever comes next (a thrown error closes them in the `defer` above, unawaited).
        await LiveFeeds.closeAll(subscribers.map(\.client))
        let name = shape.name
        report.invariants += [
            .equal(bidStats.count(status: 201), UInt64(shape.bids), phase: name, rule: "every bid is accepted (201)"),
            .equal(outcome.delivered, expected, phase: name, rule: "every subscriber receives every bid (100 %)"),
            .equal(outcome.outOfOrder, 0, phase: name, rule: "every subscriber receives the bids in seq order"),
            .equal(outcome.closedEarly, 0, phase: name, rule: "no subscriber is closed before the end"),
        ]
        var note =
            "\(name): delivered \(outcome.delivered) of \(expected) "
            + "(\(Format.percent(100 * Double(outcome.delivered) / Double(max(expected, 1))))"
            + (complete ? "" : ", gave up waiting after \(Self.deliveryGrace)")
            + "); after the first receipt \(Self.percentiles(outcome.deliveries.latency))"
            + "; after sending the bid \(Self.percentiles(outcome.deliveriesSinceSent.latency))"
        if let memoryBefore, let memoryConnected {
            note +=
                "; resident memory \(memoryBefore / 1_048_576) MiB before, \(memoryConnected / 1_048_576) MiB "
                + "with \(shape.connections) subscribers"
        }
        report.notes.append(note)
    }

    /// Opens `count` subscriptions, a bounded number at a time, reporting progress once a second.
    private func subscribe(
        _ count: Int, to path: String, tally: FanoutTally
    ) async throws -> [(client: LiveFeedClient, receipts: FanoutTally.Receipts)] {
        let reporter = context.progress?.noteEverySecond { "subscribers connected: \(tally.connected)/\(count)" }
        defer { reporter?.cancel() }
        let workers = min(LoadLimits.liveConnectConcurrencyMax, count)
        return try await withThrowingTaskGroup(of: [(LiveFeedClient, FanoutTally.Receipts)].self) { tasks in
            for worker in 0..<workers {
                tasks.addTask {
                    var subscribers: [(LiveFeedClient, FanoutTally.Receipts)] = []
                    for _ in stride(from: worker, to: count, by: workers) {
                        let receipts = FanoutTally.Receipts()
                        let client = try await LiveFeedClient.subscribe(
                            to: context.target, path: path, on: context.group.next(), timeouts: context.timeouts,
                            onEvent: { tally.record($0, into: receipts) })
                        subscribers.append((client, receipts))
                    }
                    return subscribers
                }
            }
            var subscribers: [(client: LiveFeedClient, receipts: FanoutTally.Receipts)] = []
            for try await batch in tasks { subscribers += batch.map { (client: $0.0, receipts: $0.1) } }
            return subscribers
        }
    }

    private static func percentiles(_ latency: LatencyHistogram) -> String {
        [50.0, 95, 99].map { "p\(Int($0)) \(Format.microseconds(latency.percentile($0)))" }.joined(separator: ", ")
    }

    static func microseconds(from start: NIODeadline, to end: NIODeadline) -> UInt64 {
        UInt64(max(0, (end - start).nanoseconds) / 1_000)
    }
}

/// What the subscribers of a fan-out received, gathered without a lock on the delivery path.
///
/// Each subscriber keeps its own receipts (seq, instant) on its connection's event loop; one atomic counter tells
/// when everything has arrived. The latencies are worked out once, at the end, from every receipt: the first
/// receipt of each bid, and the instant its request was sent.
final class FanoutTally: Sendable {
    struct Outcome {
        var deliveries = EndpointStats(name: "deliver")
        var deliveriesSinceSent = EndpointStats(name: "deliver+bid")
        var delivered = 0
        var outOfOrder = 0
        var closedEarly = 0
    }

    /// One subscriber's receipts. Unchecked: it is only ever touched on its connection's event loop (by the
    /// connection's handler, and by ``outcome(of:)`` through that loop).
    final class Receipts: @unchecked Sendable {
        fileprivate var seqs: [Int] = []
        fileprivate var instants: [NIODeadline] = []
        fileprivate var outOfOrder = 0
        fileprivate var closed = false
    }

    private struct Waiting {
        var sentAt: [NIODeadline?]
        var subscribed = 0
        var finishing = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let waiting: Mutex<Waiting>
    private let delivered = Atomic<Int>(0)
    private let expected: Int

    init(bids: Int, expected: Int) {
        waiting = Mutex(Waiting(sentAt: Array(repeating: nil, count: bids + 1)))
        self.expected = expected
    }

    var connected: Int { waiting.withLock { $0.subscribed } }

    func sent(seq: Int, at instant: NIODeadline) {
        waiting.withLock { $0.sentAt[seq] = instant }
    }

    /// Records one event of the subscriber whose receipts are `receipts`; called on its connection's event loop.
    func record(_ event: LiveFeedEvent, into receipts: Receipts) {
        switch event {
        case .message(let message, let receivedAt):
            guard let seq = Self.seq(in: message) else {
                waiting.withLock { $0.subscribed += 1 }
                return
            }
            if seq != (receipts.seqs.last ?? 0) + 1 { receipts.outOfOrder += 1 }
            receipts.seqs.append(seq)
            receipts.instants.append(receivedAt)
            guard delivered.add(1, ordering: .relaxed).newValue == expected else { return }
            let waiter = waiting.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        case .closed:
            receipts.closed = waiting.withLock { !$0.finishing }
        }
    }

    /// Returns true once every expected message arrived, false if `grace` passed first.
    func waitUntilComplete(orFor grace: TimeAmount) async -> Bool {
        await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.waiting.withLock { state in
                        guard self.delivered.load(ordering: .relaxed) < self.expected, !state.finishing else {
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                return self.delivered.load(ordering: .relaxed) == self.expected
            }
            tasks.addTask {
                try? await Task.sleep(for: .nanoseconds(grace.nanoseconds))
                return false
            }
            let first = await tasks.next() ?? false
            // Whichever came first, nothing more is awaited: release a waiter still parked.
            let parked = self.waiting.withLock { state in
                state.finishing = true
                defer { state.waiter = nil }
                return state.waiter
            }
            parked?.resume()
            tasks.cancelAll()
            return first
        }
    }

    /// Every subscriber's receipts, read on their event loops, worked into the counts and latencies.
    func outcome(of subscribers: [(receipts: Receipts, eventLoop: any EventLoop)]) async throws -> Outcome {
        var outcome = Outcome()
        var all: [(seqs: [Int], instants: [NIODeadline])] = []
        for (receipts, eventLoop) in subscribers {
            let (seqs, instants, outOfOrder, closed) = try await eventLoop.submit {
                (receipts.seqs, receipts.instants, receipts.outOfOrder, receipts.closed)
            }.get()
            outcome.delivered += seqs.count
            outcome.outOfOrder += outOfOrder
            outcome.closedEarly += closed ? 1 : 0
            all.append((seqs, instants))
        }
        let sentAt = waiting.withLock { $0.sentAt }
        var firstReceipt = [NIODeadline?](repeating: nil, count: sentAt.count)
        for (seqs, instants) in all {
            for (seq, instant) in zip(seqs, instants) where seq < firstReceipt.count {
                firstReceipt[seq] = min(firstReceipt[seq] ?? instant, instant)
            }
        }
        for (seqs, instants) in all {
            for (seq, instant) in zip(seqs, instants) where seq < firstReceipt.count {
                if let first = firstReceipt[seq] {
                    outcome.deliveries.record(
                        status: 200, microseconds: FanoutSuite.microseconds(from: first, to: instant))
                }
                if let sent = sentAt[seq] {
                    outcome.deliveriesSinceSent.record(
                        status: 200, microseconds: FanoutSuite.microseconds(from: sent, to: instant))
                }
            }
        }
        return outcome
    }

    /// The `seq` of a bid message (`…"seq":12,…`), found by a plain byte scan; nil for any other message.
    static func seq(in message: ByteBuffer) -> Int? {
        message.withUnsafeReadableBytes { bytes -> Int? in
            let key: [UInt8] = Array(#""seq":"#.utf8)
            guard bytes.count > key.count else { return nil }
            var index = 0
            search: while index <= bytes.count - key.count {
                for offset in 0..<key.count where bytes[index + offset] != key[offset] {
                    index += 1
                    continue search
                }
                break
            }
            var position = index + key.count
            guard position <= bytes.count else { return nil }
            var value = 0
            let start = position
            while position < bytes.count, (48...57).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - 48)
                position += 1
            }
            return position == start ? nil : value
        }
    }
}
