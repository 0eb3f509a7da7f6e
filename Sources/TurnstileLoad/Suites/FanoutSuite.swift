import Foundation
import NIOCore
import Synchronization
import TurnstileReport

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

    public let target: LoadTarget
    public let group: any EventLoopGroup
    public let timeouts: HTTPClientConnection.Timeouts
    public let progress: ProgressReporter?

    public init(
        target: LoadTarget, group: any EventLoopGroup, timeouts: HTTPClientConnection.Timeouts = .init(),
        progress: ProgressReporter? = nil
    ) {
        self.target = target
        self.group = group
        self.timeouts = timeouts
        self.progress = progress
    }

    /// Runs the fan-out with `bidder` placing the bids. `residentMemory`, when given, reads the target's resident
    /// memory in bytes (the engine's own process, for an embedded target).
    public func run(
        _ shape: Shape, bidder: VirtualUser, residentMemory: (@Sendable () -> Int?)? = nil,
        into report: inout RunReport
    ) async throws {
        let openFiles = LoadLimits.raiseOpenFileLimit()
        guard openFiles == 0 || Int(openFiles) > shape.connections + 64 else {
            throw SetupError(
                "\(shape.connections) subscribers need more open files than this process may have (\(openFiles)); "
                    + "raise the hard limit (ulimit -Hn) or use fewer --connections")
        }
        let session = APISession(target: target, eventLoop: group.next(), timeouts: timeouts)
        let item = try await session.call(
            TurnstileAPI.createItem(
                title: shape.name, startingPriceCents: 100, minIncrementCents: 1, token: bidder.token),
            expecting: 201, as: TurnstileAPI.Item.self)
        let memoryBefore = residentMemory?()
        let tally = FanoutTally(subscribers: shape.connections, bids: shape.bids)
        let startedAt = Date()
        let began = NIODeadline.now()

        progress?.note("\(shape.name): connecting \(shape.connections) subscribers to item \(item.id)…")
        let subscribers = try await subscribe(shape.connections, to: TurnstileAPI.itemFeed(item.id), tally: tally)
        defer { for subscriber in subscribers { subscriber.close() } }
        let memoryConnected = residentMemory?()

        progress?.note("\(shape.name): \(shape.connections) subscribed; placing \(shape.bids) bids")
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
        let outcome = tally.outcome()

        report.phases.append(
            PhaseReport(
                name: shape.name, executor: "fanout", startedAt: startedAt, durationSeconds: duration,
                users: shape.connections, endpoints: [bidStats, outcome.deliveries, outcome.deliveriesSinceSent],
                timeline: []))
        let expected = shape.connections * shape.bids
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
    private func subscribe(_ count: Int, to path: String, tally: FanoutTally) async throws -> [LiveFeedClient] {
        let reporter = progress.map { progress in
            Task {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(1)) } catch { return }
                    progress.note("subscribers connected: \(tally.connected)/\(count)")
                }
            }
        }
        defer { reporter?.cancel() }
        let workers = min(LoadLimits.liveConnectConcurrencyMax, count)
        return try await withThrowingTaskGroup(of: [LiveFeedClient].self) { tasks in
            for worker in 0..<workers {
                tasks.addTask {
                    var clients: [LiveFeedClient] = []
                    for index in stride(from: worker, to: count, by: workers) {
                        clients.append(
                            try await LiveFeedClient.subscribe(
                                to: target, path: path, on: group.next(), timeouts: timeouts,
                                onEvent: { tally.record($0, subscriber: index) }))
                    }
                    return clients
                }
            }
            var clients: [LiveFeedClient] = []
            for try await batch in tasks { clients += batch }
            return clients
        }
    }

    private static func percentiles(_ latency: LatencyHistogram) -> String {
        [50.0, 95, 99].map { "p\(Int($0)) \(Format.microseconds(latency.percentile($0)))" }.joined(separator: ", ")
    }

    static func microseconds(from start: NIODeadline, to end: NIODeadline) -> UInt64 {
        UInt64(max(0, (end - start).nanoseconds) / 1_000)
    }
}

/// What the subscribers of a fan-out received, gathered from every event loop.
final class FanoutTally: Sendable {
    struct Outcome {
        var deliveries = EndpointStats(name: "deliver")
        var deliveriesSinceSent = EndpointStats(name: "deliver+bid")
        var delivered = 0
        var outOfOrder = 0
        var closedEarly = 0
    }

    private struct State {
        var sentAt: [NIODeadline?]
        var firstReceivedAt: [NIODeadline?]
        var lastSeq: [Int]
        var subscribed = 0
        var outcome = Outcome()
        var finishing = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>
    private let expected: Int

    init(subscribers: Int, bids: Int) {
        state = Mutex(
            State(
                sentAt: Array(repeating: nil, count: bids + 1), firstReceivedAt: Array(repeating: nil, count: bids + 1),
                lastSeq: Array(repeating: 0, count: subscribers)))
        expected = subscribers * bids
    }

    var connected: Int { state.withLock { $0.subscribed } }

    func sent(seq: Int, at instant: NIODeadline) {
        state.withLock { $0.sentAt[seq] = instant }
    }

    /// Records one subscriber's event; called on its connection's event loop.
    func record(_ event: LiveFeedEvent, subscriber: Int) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch event {
            case .message(let message, let receivedAt):
                guard let seq = Self.seq(in: message) else {
                    state.subscribed += 1
                    return nil
                }
                if seq != state.lastSeq[subscriber] + 1 { state.outcome.outOfOrder += 1 }
                state.lastSeq[subscriber] = seq
                state.outcome.delivered += 1
                if seq < state.sentAt.count {
                    let first = state.firstReceivedAt[seq] ?? receivedAt
                    state.firstReceivedAt[seq] = first
                    state.outcome.deliveries.record(
                        status: 200, microseconds: FanoutSuite.microseconds(from: first, to: receivedAt))
                    if let sentAt = state.sentAt[seq] {
                        state.outcome.deliveriesSinceSent.record(
                            status: 200, microseconds: FanoutSuite.microseconds(from: sentAt, to: receivedAt))
                    }
                }
                guard state.outcome.delivered == expected else { return nil }
                defer { state.waiter = nil }
                return state.waiter
            case .closed:
                if !state.finishing { state.outcome.closedEarly += 1 }
                return nil
            }
        }
        waiter?.resume()
    }

    /// Returns true once every expected message arrived, false if `grace` passed first.
    func waitUntilComplete(orFor grace: TimeAmount) async -> Bool {
        let complete = await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                await withCheckedContinuation { continuation in
                    let ready = self.state.withLock { state in
                        guard state.outcome.delivered < self.expected, !state.finishing else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
                return self.state.withLock { $0.outcome.delivered == self.expected }
            }
            tasks.addTask {
                try? await Task.sleep(for: .nanoseconds(grace.nanoseconds))
                return false
            }
            let first = await tasks.next() ?? false
            // Whichever came first, nothing more is awaited: release a waiter still parked.
            let parked = self.state.withLock { state in
                state.finishing = true
                defer { state.waiter = nil }
                return state.waiter
            }
            parked?.resume()
            tasks.cancelAll()
            return first
        }
        return complete
    }

    func outcome() -> Outcome { state.withLock { $0.outcome } }

    /// The `seq` of a bid message (`…"seq":12,…`), found without decoding the JSON; nil for any other message.
    static func seq(in message: ByteBuffer) -> Int? {
        let key = Array(#""seq":"#.utf8)
        let bytes = message.readableBytesView
        guard let start = bytes.firstRange(of: key)?.upperBound else { return nil }
        var value = 0
        var digits = 0
        for byte in bytes[start...] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits == 0 ? nil : value
    }
}
