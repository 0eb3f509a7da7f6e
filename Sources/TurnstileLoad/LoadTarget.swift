/// Where the engine sends its traffic: an `http://host:port` base URL.
public struct LoadTarget: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// A path prefix every request path is appended to (empty for the root).
    public let basePath: String
    /// The `Host` header value, made once: every request carries it.
    let hostHeader: String

    /// Parses `http://host[:port][/base]`. HTTPS is refused with a clear message: the engine speaks plain HTTP/1.1.
    public init(parsing text: String) throws(LoadTargetError) {
        guard text.hasPrefix("http://") else {
            if text.hasPrefix("https://") {
                throw LoadTargetError(
                    text, "https is not supported yet; put the target behind plain http, e.g. a local port")
            }
            throw LoadTargetError(text, "the target must be an http:// URL, e.g. http://127.0.0.1:8080")
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        let host: Substring
        let port: Int
        if authority.hasPrefix("[") {
            // An IPv6 literal such as [::1]:8080.
            guard let close = authority.firstIndex(of: "]") else {
                throw LoadTargetError(text, "unclosed '[' in the host")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            port = afterHost.isEmpty ? 80 : Int(afterHost.dropFirst()) ?? -1
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = authority
            port = 80
        }
        guard !host.isEmpty else { throw LoadTargetError(text, "the URL has no host") }
        guard (1...65_535).contains(port) else { throw LoadTargetError(text, "the port must be 1...65535") }
        self.host = String(host)
        self.port = port
        self.basePath = path
        hostHeader = (host.contains(":") ? "[\(host)]" : String(host)) + (port == 80 ? "" : ":\(port)")
    }

    /// Splits a URL into the target (scheme, host and port) and the path with its query (`/` if none).
    public static func splitting(url: String) throws(LoadTargetError) -> (LoadTarget, String) {
        guard url.hasPrefix("http://") else {
            // Not http: parsing says why, in the words every target gets.
            return (try LoadTarget(parsing: url), "/")
        }
        let afterScheme = url.dropFirst("http://".count)
        let authority = afterScheme.prefix { $0 != "/" }
        let path = String(afterScheme.dropFirst(authority.count))
        return (try LoadTarget(parsing: "http://\(authority)"), path.isEmpty ? "/" : path)
    }

    public var description: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "http://\(hostText):\(port)\(basePath)"
    }
}

public struct LoadTargetError: Error, CustomStringConvertible {
    public let description: String

    init(_ text: String, _ problem: String) {
        description = "target '\(text)': \(problem)"
    }
}
