import NIOCore
import NIOPosix

/// Checks, before anything is opened or created, that the service will be able to listen where it was asked to, so
/// that a port in use is one clear line and leaves no files behind.
enum ListenCheck {
    /// Binds `host`:`port` for a moment and lets it go; throws ``ListenError`` when that fails. Port 0 always works.
    static func available(host: String, port: Int) async throws {
        guard port != 0 else { return }
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close().get()
        } catch {
            throw ListenError(host: host, port: port, underlying: error)
        }
    }

}

/// The service cannot listen where it was asked to.
struct ListenError: Error, CustomStringConvertible {
    let host: String
    let port: Int
    let underlying: any Error

    var description: String {
        let address = "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        if let error = underlying as? IOError {
            switch error.errnoCode {
            case EADDRINUSE:
                return "cannot listen on \(address): the port is in use by another process; pick another --port"
            case EADDRNOTAVAIL: return "cannot listen on \(address): \(host) is not an address of this machine"
            case EACCES: return "cannot listen on \(address): permission denied (ports below 1024 need privileges)"
            default: return "cannot listen on \(address): \(String(cString: strerror(error.errnoCode)).lowercased())"
            }
        }
        return "cannot listen on \(address): \(underlying)"
    }
}
