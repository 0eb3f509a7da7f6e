import NIOCore

/// One open live-feed subscription, WebSocket or Server-Sent Events: its channel, and how to end it.
public protocol FeedConnection: AnyObject, Sendable {
    var channel: any Channel { get }
    /// Starts ending the subscription politely (a WebSocket close handshake; an SSE stream is simply closed).
    func close()
}

public enum LiveFeeds {
    /// Closes every subscription of `feeds` and returns once their connections are closed: a server that counts
    /// each client's connections (Turnstile's does) has them back before the next phase opens its own. A connection
    /// the server has not let go of within `patience` (its close answered) is dropped.
    public static func closeAll(_ feeds: [any FeedConnection], patience: TimeAmount = .seconds(2)) async {
        for feed in feeds {
            feed.close()
            let channel = feed.channel
            channel.eventLoop.scheduleTask(in: patience) { channel.close(promise: nil) }
        }
        for feed in feeds { try? await feed.channel.closeFuture.get() }
    }
}
