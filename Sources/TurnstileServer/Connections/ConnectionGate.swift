#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import HummingbirdCore
import NIOCore
import Synchronization
import TurnstileCore

/// Bounds the connections the service holds, so that no client, however many sockets it opens, can take the
/// process to its open-file limit: there accepting spins on `EMFILE` and the store and the logger fail with it.
///
/// - In all, at most ``connectionsMax`` (and never more than the open-file limit less
///   ``Limits/fileHandlesReserved``, kept for the store, its files and the logs). At the cap the server stops
///   accepting (new connections wait in the kernel's backlog, and past it are refused) until one closes; each time
///   it does is counted (`turnstile_connections_deferred_total`).
/// - From one client address, at most ``connectionsPerClientMax``: one more is closed at once and counted
///   (`turnstile_connections_refused_total`), so one client cannot take the room everyone else needs, `/health`
///   included.
public final class ConnectionGate: Sendable {
    /// The most connections held at once, after the open-file limit had its say.
    public let connectionsMax: Int
    public let connectionsPerClientMax: Int

    private let byClient = Mutex<[String: Int]>([:])
    private let open = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let deferred = Atomic<Int>(0)

    /// A gate for `connectionsMax` connections in all (lowered to fit the process's open-file limit) and
    /// `connectionsPerClientMax` per client address.
    public init(connectionsMax: Int, connectionsPerClientMax: Int) {
        self.connectionsMax = min(connectionsMax, Self.handlesForConnections())
        self.connectionsPerClientMax = connectionsPerClientMax
    }

    /// Connections open now.
    public var openCount: Int { open.load(ordering: .relaxed) }
    /// Connections closed at once because their client already held its share.
    public var refusedCount: Int { refused.load(ordering: .relaxed) }
    /// Times the server stopped accepting because it held ``connectionsMax``.
    public var deferredCount: Int { deferred.load(ordering: .relaxed) }

    /// Takes a place for a connection from `address`, or counts it refused and returns false.
    func admit(_ address: SocketAddress?) -> Bool {
        let client = Self.client(address)
        let admitted = byClient.withLock { byClient in
            guard byClient[client, default: 0] < connectionsPerClientMax else { return false }
            byClient[client, default: 0] += 1
            return true
        }
        if !admitted { refused.add(1, ordering: .relaxed) }
        return admitted
    }

    /// Gives back the place of a connection from `address` that ``admit(_:)`` let in.
    func release(_ address: SocketAddress?) {
        let client = Self.client(address)
        byClient.withLock { byClient in
            let count = byClient[client, default: 1] - 1
            byClient[client] = count > 0 ? count : nil
        }
    }

    /// The server channel's side: Hummingbird stops reading (accepting) while this says no.
    var availability: Availability { Availability(gate: self) }

    struct Availability: AvailableConnectionsDelegate {
        let gate: ConnectionGate

        mutating func connectionOpened() { gate.open.add(1, ordering: .relaxed) }
        mutating func connectionClosed() { gate.open.subtract(1, ordering: .relaxed) }

        func isAcceptingNewConnections() -> Bool {
            guard gate.open.load(ordering: .relaxed) < gate.connectionsMax else {
                gate.deferred.add(1, ordering: .relaxed)
                return false
            }
            return true
        }
    }

    /// A client is its IP address (the port changes with every connection); unknown addresses share one place.
    private static func client(_ address: SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }

    /// The open-file limit less the handles kept in reserve: the most connections the process can hold safely.
    private static func handlesForConnections() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int.max) else {
            return Int.max
        }
        return max(1, Int(clamping: limit.rlim_cur) - Limits.fileHandlesReserved)
    }
}

/// A connection closed by the gate as soon as it was accepted.
struct ConnectionRefused: Error {}
