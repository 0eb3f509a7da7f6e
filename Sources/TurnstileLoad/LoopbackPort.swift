import Foundation
import NIOCore
import NIOPosix

/// A loopback port for a process that must be told its port before it starts (a scenario's service, a test's).
public enum LoopbackPort {
    /// A port nothing listens on now, taken below the kernel's ephemeral range (`ip_local_port_range`), where no
    /// client socket of this machine takes its local port: a port from that range, freed and handed on, can be taken
    /// meanwhile by any outgoing connection, and the process (or its restart) would then fail to listen. Another
    /// listener could still take it; the process then fails to start, with its own words, and the run says so.
    public static func free() async throws -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let ephemeralStart = range?.first ?? 32_768
        let candidates = ephemeralStart > 3_072 ? Array(max(1_025, ephemeralStart - 12_000)..<ephemeralStart) : []
        for port in candidates.shuffled().prefix(64) {
            if let bound = try? await bound(port) { return bound }
        }
        return try await bound(0)
    }

    /// Binds loopback `port` (0: any) for a moment; returns the port bound.
    private static func bound(_ port: Int) async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: port).get()
        let bound = channel.localAddress?.port ?? port
        try await channel.close().get()
        return bound
    }
}
