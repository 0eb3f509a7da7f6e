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
    }

    private let state = Mutex(State())

    public init() {}

    /// Creates a hub fed by `feed`.
    public convenience init(feed: ChangeFeed) {
        self.init()
        feed.observe { [weak self] changes in self?.publish(changes) }
    }

    /// How many subscribers are connected across all feeds.
    public var subscriberCount: Int { state.withLock { $0.count } }

    /// Adds `handler` to `topic`'s subscribers; nil when the hub already has ``Limits/liveSubscribersMax``. Call on
    /// the handler's event loop: every change published after this returns reaches the handler, in order.
    func subscribe(_ handler: LiveFeedHandler, to topic: LiveTopic, on eventLoop: any EventLoop) -> Int? {
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        return state.withLock { state in
            guard state.count < Limits.liveSubscribersMax else { return nil }
            state.nextID += 1
            state.count += 1
            state.topics[topic, default: [:]][ObjectIdentifier(eventLoop), default: LoopGroup(eventLoop: eventLoop)]
                .handlers[state.nextID] = bound
            return state.nextID
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
