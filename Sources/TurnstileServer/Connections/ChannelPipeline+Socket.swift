import NIOCore
import NIOSSL

extension ChannelPipeline.SynchronousOperations {
    /// Whether the connection is TLS (it has the server's TLS handler).
    var isTLS: Bool {
        (try? handler(type: NIOSSLServerHandler.self)) != nil
    }

    /// Adds `handler` as near the socket as the bytes it writes may go: first, or, on a TLS connection, right after
    /// the TLS handler, so that what it writes is encrypted like everything else.
    func addHandlerNearSocket(_ handler: some ChannelHandler) throws {
        if let tls = try? self.handler(type: NIOSSLServerHandler.self) {
            try addHandler(handler, position: .after(tls))
        } else {
            try addHandler(handler, position: .first)
        }
    }
}
