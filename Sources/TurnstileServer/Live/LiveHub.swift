import NIOCore
import Synchronization
import TurnstileCore
import TurnstileStore

/// Fans each committed change out to the live feeds' subscribers.
///
/// Each change is encoded to JSON once; the same bytes go to every subscriber of its topic. Subscribers are kept by
/// event loop, so one publish costs one hop per event loop (not per subscriber), and each connection's
/// ``LiveFeedHandler`` writes and flushes its frames right there. A subscriber that falls
/// ``Limits/liveBacklogBytesMax`` behind is closed by its handler, so a slow reader can never make memory grow.
///
/// A subscriber joins only while its store's ``ChangeFeed`` is complete (``ticket()``), and when the feed is
/// interrupted every subscriber is closed with 1013 (try again later): one who may have missed a change reconnects
/// rather than go on with a gap it cannot see.
public final class LiveHub: Sendable {
    /// The subscribers of one topic on one event loop.
    private struct LoopGroup {
        let eventLoop: any EventLoop
        var handlers: [Int: NIOLoopBound<LiveFeedHandler>] = [:]
    }

    private struct State {
        var topics: [LiveTopic: [ObjectIdentifier: LoopGroup]] = [:]
        var count = 0
        var nextID = 0
        /// The last `seq` sent on each event's feed (an item's feed numbers its bids by their own `seq`).
        var eventSeq: [Int64: Int] = [:]
        /// How many times the feed was interrupted: a ticket from before the last interruption is void.
        var interruptions: UInt64 = 0
    }

    /// Proof that a subscriber was admitted while the feed was complete; it holds until the feed is next interrupted.
    struct Ticket: Sendable {
        fileprivate let interruptions: UInt64
    }

    /// The outcome of ``subscribe(_:to:on:with:)``.
    enum Subscription: Equatable {
        case subscribed(id: Int)
        /// The hub has ``Limits/liveSubscribersMax`` subscribers already.
        case full
        /// The feed was interrupted since the ticket was issued: the subscriber could have missed a change.
        case interrupted
    }

    /// Why the hub closes its subscribers when the feed is interrupted.
    static let interruptedReason = "this instance stopped hearing the other instances' changes; reconnect"

    private let state = Mutex(State())
    private let feed: ChangeFeed

    /// Creates a hub fed by `feed`; by default, one that only ``publish(_:)`` feeds and that is always complete.
    public init(feed: ChangeFeed = ChangeFeed()) {
        self.feed = feed
        feed.observe { [weak self] changes in self?.publish(changes) }
        feed.observeInterruptions { [weak self] in self?.closeAllInterrupted() }
    }

    /// How many subscribers are connected across all feeds.
    public var subscriberCount: Int { state.withLock { $0.count } }

    /// A ticket to subscribe with, or nil while the feed is interrupted (a subscriber would miss changes).
    func ticket() -> Ticket? {
        // The count first: an interruption between the two reads either shows here as an incomplete feed or voids
        // the ticket.
        let ticket = Ticket(interruptions: state.withLock { $0.interruptions })
        return feed.isComplete ? ticket : nil
    }

    /// Adds `handler` to `topic`'s subscribers, unless the hub is full or the feed was interrupted since `ticket`
    /// was issued. Call on the handler's event loop: every change published after this returns reaches the handler,
    /// in order.
    func subscribe(
        _ handler: LiveFeedHandler, to topic: LiveTopic, on eventLoop: any EventLoop, with ticket: Ticket
    )
        -> Subscription
    {
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        return state.withLock { state in
            guard ticket.interruptions == state.interruptions else { return .interrupted }
            guard state.count < Limits.liveSubscribersMax else { return .full }
            state.nextID += 1
            state.count += 1
            state.topics[topic, default: [:]][ObjectIdentifier(eventLoop), default: LoopGroup(eventLoop: eventLoop)]
                .handlers[state.nextID] = bound
            return .subscribed(id: state.nextID)
        }
    }

    /// Voids every ticket issued so far and closes every subscriber with 1013: each may have missed a change.
    private func closeAllInterrupted() {
        let groups = state.withLock { state in
            state.interruptions += 1
            state.count = 0
            defer { state.topics = [:] }
            return state.topics.values.flatMap(\.values)
        }
        for group in groups {
            group.eventLoop.execute {
                for handler in group.handlers.values { handler.value.closeInterrupted() }
            }
        }
    }

    /// Removes a subscriber; called when its connection closes.
    func unsubscribe(_ id: Int, from topic: LiveTopic, on eventLoop: any EventLoop) {
        state.withLock { state in
            let loop = ObjectIdentifier(eventLoop)
            guard state.topics[topic]?[loop]?.handlers.removeValue(forKey: id) != nil else { return }
            state.count -= 1
            if state.topics[topic]?[loop]?.handlers.isEmpty == true { state.topics[topic]?[loop] = nil }
            if state.topics[topic]?.isEmpty == true { state.topics[topic] = nil }
        }
    }

    /// Encodes each change once and hands it to every subscriber of its topic, in commit order.
    public func publish(_ changes: [LiveChange]) {
        let deliveries: [(LoopGroup, [ByteBuffer])] = state.withLock { state in
            var messages: [LiveTopic: [ByteBuffer]] = [:]
            for change in changes {
                let topic = change.topic
                guard state.topics[topic] != nil else { continue }
                let seq: Int
                switch (topic, change) {
                case (.item, .bid(let bid)): seq = bid.seq
                case (.event(let eventID), _):
                    seq = state.eventSeq[eventID, default: 0] + 1
                    state.eventSeq[eventID] = seq
                case (.item, _): preconditionFailure("an item's feed carries only bids")
                }
                messages[topic, default: []].append(LiveMessage.encode(change, seq: seq))
            }
            return messages.flatMap { topic, messages in
                state.topics[topic, default: [:]].values.map { ($0, messages) }
            }
        }
        for (group, messages) in deliveries {
            group.eventLoop.execute {
                for handler in group.handlers.values { handler.value.send(messages) }
            }
        }
    }
}
