/// Where the engine sends its traffic: an `http://` or `https://` base URL.
public struct LoadTarget: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    public let host: String
    public let port: Int
    /// A path prefix every request path is appended to (empty for the root).
    public let basePath: String
    /// The `Host` header value, made once: every request carries it.
    let hostHeader: String
    /// TLS for an `https` target, shared by its connections; nil for `http`.
    public let tls: TargetTLS?
    /// Which HTTP version to speak, and how many users share a connection on HTTP/2.
    public let http: HTTPOptions
    /// The local addresses connections leave from, in turn (`--local-ips`); the system's choice when nil.
    public let sources: SourceAddresses?

    /// Parses `http[s]://host[:port][/base]`; an `https` target's certificate is checked as `tls` says, and its
    /// HTTP version chosen as `http` says.
    public init(
        parsing text: String, tls options: TLSOptions = TLSOptions(), http: HTTPOptions = HTTPOptions(),
        sources: SourceAddresses? = nil
    ) throws(LoadTargetError) {
        guard let scheme = Self.scheme(of: text) else {
            throw LoadTargetError(text, "the target must be an http:// or https:// URL, e.g. http://127.0.0.1:8080")
        }
        let rest = text.dropFirst(scheme.count + 3)
        let defaultPort = scheme == "https" ? 443 : 80
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
            port = afterHost.isEmpty ? defaultPort : Int(afterHost.dropFirst()) ?? -1
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = authority
            port = defaultPort
        }
        guard !host.isEmpty else { throw LoadTargetError(text, "the URL has no host") }
        guard (1...65_535).contains(port) else { throw LoadTargetError(text, "the port must be 1...65535") }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.basePath = path
        hostHeader = (host.contains(":") ? "[\(host)]" : String(host)) + (port == defaultPort ? "" : ":\(port)")
        self.http = http
        self.sources = sources
        do {
            tls = scheme == "https" ? try TargetTLS(host: String(host), options: options, http: http.version) : nil
        } catch {
            throw LoadTargetError(text, "TLS could not be set up: \(error)")
        }
    }

    /// Two targets are the same place; how their certificates are checked does not enter.
    public static func == (lhs: LoadTarget, rhs: LoadTarget) -> Bool {
        (lhs.scheme, lhs.host, lhs.port, lhs.basePath) == (rhs.scheme, rhs.host, rhs.port, rhs.basePath)
    }

    /// Splits a URL into the target (scheme, host and port) and the path with its query (`/` if none).
    public static func splitting(
        url: String, tls: TLSOptions = TLSOptions(), http: HTTPOptions = HTTPOptions(), sources: SourceAddresses? = nil
    ) throws(LoadTargetError) -> (LoadTarget, String) {
        guard let scheme = scheme(of: url) else {
            // Not a URL the engine speaks: parsing says why, in the words every target gets.
            return (try LoadTarget(parsing: url, tls: tls, http: http, sources: sources), "/")
        }
        let afterScheme = url.dropFirst(scheme.count + 3)
        let authority = afterScheme.prefix { $0 != "/" }
        let path = String(afterScheme.dropFirst(authority.count))
        return (
            try LoadTarget(parsing: "\(scheme)://\(authority)", tls: tls, http: http, sources: sources),
            path.isEmpty ? "/" : path
        )
    }

    /// `http` or `https`, as `url` begins; nil for any other scheme.
    private static func scheme(of url: String) -> String? {
        ["http", "https"].first { url.hasPrefix($0 + "://") }
    }

    public var description: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostText):\(port)\(basePath)"
    }
}

/// Which HTTP the engine speaks to a target.
public struct HTTPOptions: Sendable, Equatable {
    public enum Version: String, Sendable, CaseIterable {
        /// HTTP/2 where the server agrees to it in the TLS handshake (ALPN), HTTP/1.1 otherwise; plain `http://` is
        /// HTTP/1.1.
        case auto
        /// HTTP/1.1 only.
        case http1 = "1.1"
        /// HTTP/2 only: agreed by ALPN on `https://`, with prior knowledge (h2c) on `http://`.
        case http2 = "2"
    }

    public var version: Version
    /// How many users share one HTTP/2 connection, each request a stream on it; nil for each executor's default (one
    /// user per connection, as on HTTP/1.1, but for the barrier's single-packet race, see ``BarrierExecutor``).
    /// Ignored on HTTP/1.1, which carries one request at a time.
    public var streams: Int?
    /// The most bytes of one answer's body the engine keeps, where it keeps one (set-up, read-back, captures): a
    /// larger answer fails its request as a protocol error, "answer larger than N bytes", instead of growing the
    /// engine's memory without bound. Bodies of measured requests that capture nothing are counted, never kept.
    public var answerBytesKeptMax: Int

    public init(
        version: Version = .auto, streams: Int? = nil, answerBytesKeptMax: Int = LoadLimits.answerBytesKeptDefault
    ) {
        self.version = version
        self.streams = streams
        self.answerBytesKeptMax = answerBytesKeptMax
    }
}

public struct LoadTargetError: Error, CustomStringConvertible {
    public let description: String

    init(_ text: String, _ problem: String) {
        description = "target '\(text)': \(problem)"
    }

    /// A mistake in `--local-ips`.
    init(sources text: String, _ problem: String) {
        description = "--local-ips \(text): \(problem)"
    }
}
