import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The local addresses the engine's connections leave from, taken in turn (`--local-ips`): every connection it opens
/// — load, barrier, subscribers, set-up — binds the next one before connecting. A target that caps connections per
/// source address (Turnstile: 1,024) then sees many sources, and one machine can open more connections than one
/// address's ports allow.
///
/// Written as a list of addresses and ranges: `127.0.0.2-127.0.0.9,10.0.0.5`, `::1`, `fd00::10-fd00::2f` (an IPv6
/// range varies in its last 32 bits). At most ``countMax`` addresses.
public final class SourceAddresses: Sendable, CustomStringConvertible {
    public let addresses: [SocketAddress]
    public let description: String
    private let next = Atomic<Int>(0)

    /// The most addresses one list may name.
    public static let countMax = 65_536

    public init(parsing text: String) throws(LoadTargetError) {
        var addresses: [SocketAddress] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard !item.isEmpty else { continue }
            let ends = item.split(separator: "-", maxSplits: 1).map(String.init)
            guard let first = Self.bytes(ends[0]), let last = Self.bytes(ends.count == 2 ? ends[1] : ends[0]),
                first.count == last.count
            else {
                throw LoadTargetError(
                    sources: text,
                    "'\(item)' is not an IP address or a range of them (127.0.0.2-127.0.0.9, fd00::1-fd00::8)")
            }
            // The part that varies: all of an IPv4 address, the last 32 bits of an IPv6 one.
            let fixed = first.count - 4
            guard first.prefix(fixed) == last.prefix(fixed) else {
                throw LoadTargetError(sources: text, "the IPv6 range '\(item)' may vary only in its last 32 bits")
            }
            let low = Self.number(first.suffix(4)), high = Self.number(last.suffix(4))
            guard low <= high else { throw LoadTargetError(sources: text, "the range '\(item)' runs backwards") }
            guard UInt64(addresses.count) + UInt64(high - low) < UInt64(Self.countMax) else {
                throw LoadTargetError(sources: text, "more than \(Self.countMax) source addresses")
            }
            for value in low...high {
                let bytes = Array(first.prefix(fixed)) + withUnsafeBytes(of: value.bigEndian) { Array($0) }
                addresses.append(try Self.address(bytes, text: text))
            }
        }
        guard !addresses.isEmpty else { throw LoadTargetError(sources: text, "no source address given") }
        self.addresses = addresses
        description = text
    }

    /// The next address, in turn.
    func take() -> SocketAddress {
        addresses[next.add(1, ordering: .relaxed).oldValue % addresses.count]
    }

    /// Throws, naming the first, when an address is not this machine's (it cannot be bound), or is not of the
    /// target's family (an IPv6 source cannot reach an IPv4 target).
    public func check(against target: LoadTarget) throws(LoadTargetError) {
        let ipv6Target = target.host.contains(":")
        for address in addresses {
            if case .v6 = address, !ipv6Target, target.host.first?.isNumber == true {
                throw LoadTargetError(sources: description, "\(address.ipAddress ?? "") is IPv6; the target is IPv4")
            }
            if case .v4 = address, ipv6Target {
                throw LoadTargetError(sources: description, "\(address.ipAddress ?? "") is IPv4; the target is IPv6")
            }
            let socket = Foundation.socket(address.protocol.rawValue, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { continue }
            defer { close(socket) }
            let bound = address.withSockAddr { pointer, size in bind(socket, pointer, socklen_t(size)) }
            if bound != 0 {
                throw LoadTargetError(
                    sources: description,
                    "\(address.ipAddress ?? "") cannot be a source: \(String(cString: strerror(errno)).lowercased()) "
                        + "(is it an address of this machine?)")
            }
        }
    }

    /// Binds `bootstrap`'s connection to the next address, leaving its port to the connect (Linux's
    /// `IP_BIND_ADDRESS_NO_PORT`), so that ports are shared between destinations as they are without a bind.
    func binding(_ bootstrap: ClientBootstrap) -> ClientBootstrap {
        #if os(Linux)
            bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: .init(rawValue: 24)), value: 1)
                .bind(to: take())
        #else
            bootstrap.bind(to: take())
        #endif
    }

    private static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func address(_ bytes: [UInt8], text: String) throws(LoadTargetError) -> SocketAddress {
        do {
            return try SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: 0)
        } catch {
            throw LoadTargetError(sources: text, "\(error)")
        }
    }
}

extension ClientBootstrap {
    /// Bound to the next of `sources`, when there are any.
    func from(_ sources: SourceAddresses?) -> ClientBootstrap {
        sources?.binding(self) ?? self
    }
}
