/// Decides whether a browser request may change state or open a WebSocket.
///
/// A request without `Origin` (curl, native apps) is allowed. A request with one is allowed
/// when the origin is the request's own (`scheme://Host`) or listed in
/// `AMARRE_ALLOWED_ORIGINS`. Everything else gets 403: a page on another site must not be
/// able to drive an agent that can run shell commands.
public struct OriginPolicy: Sendable, Equatable {
    public var allowedOrigins: Set<String>
    /// Host names (without port) accepted in `Host` besides the safe defaults.
    public var allowedHosts: Set<String>

    public init(allowedOrigins: [String], allowedHosts: [String] = []) {
        self.allowedOrigins = Set(allowedOrigins.map(OriginPolicy.normalize))
        var hosts = Set(allowedHosts.map { OriginPolicy.hostName($0) })
        for origin in self.allowedOrigins {
            if let rest = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first {
                hosts.insert(OriginPolicy.hostName(String(rest)))
            }
        }
        self.allowedHosts = hosts
    }

    /// DNS rebinding: a page on `http://evil.example:8341` whose name resolves to 127.0.0.1
    /// sends `Origin` and `Host` that match each other. So the `Host` itself must be one
    /// amarre is served under: an IP literal (rebinding needs a name), `localhost`, a tailnet
    /// name (`*.ts.net`, Tailscale's own DNS), or one listed in `AMARRE_ALLOWED_HOSTS` or
    /// `AMARRE_ALLOWED_ORIGINS`. A request without `Host` (not a browser) is allowed.
    public func allowsHost(_ host: String?) -> Bool {
        guard let host, !host.isEmpty else { return true }
        if host.utf8.first == UInt8(ascii: "[") { return true }  // an IPv6 literal
        let name = OriginPolicy.hostName(host)
        if name == "localhost" || name.hasSuffix(".localhost") || name.hasSuffix(".ts.net") { return true }
        if allowedHosts.contains(name) { return true }
        return OriginPolicy.isIPv4Literal(name)
    }

    /// Four dot-separated groups of one to three ASCII digits.
    static func isIPv4Literal(_ name: String) -> Bool {
        var groups = 1
        var digits = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                groups += 1
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digits += 1
                if digits > 3 { return false }
            } else {
                return false
            }
        }
        return groups == 4 && digits > 0
    }

    /// The name part of a `Host` value: lowercased, without port or trailing dot.
    public static func hostName(_ host: String) -> String {
        // Host names on the wire are ASCII (IDNs travel as punycode): bytes, not characters,
        // on the path every request takes.
        let bytes = Array(host.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return unicodeHostName(host) }
        var end = bytes.count
        if bytes.first != UInt8(ascii: "["), let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
            bytes[(colon + 1)...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            end = colon
        }
        while end > 0, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        let lowered = bytes[..<end].map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        return String(decoding: lowered, as: UTF8.self)
    }

    private static func unicodeHostName(_ host: String) -> String {
        var h = host.lowercased()
        if let colon = h.lastIndex(of: ":"), !h.hasPrefix("["), h[h.index(after: colon)...].allSatisfy(\.isASCIIDigit) {
            h = String(h[..<colon])
        }
        while h.hasSuffix(".") { h.removeLast() }
        return h
    }

    /// - Parameters:
    ///   - origin: the `Origin` header, if any.
    ///   - host: the `Host` header the client sent (as nginx forwards it).
    ///   - scheme: `http` or `https` as seen by the client (nginx's `$scheme`, or
    ///     `X-Forwarded-Proto` from a proxy in front).
    public func allows(origin: String?, host: String?, scheme: String) -> Bool {
        guard let origin, !origin.isEmpty else { return true }
        let o = OriginPolicy.normalize(origin)
        if allowedOrigins.contains(o) { return true }
        // "null" (sandboxed frames, file://) is never our own origin.
        guard o != "null", let host, !host.isEmpty else { return false }
        let own = OriginPolicy.normalize(scheme.lowercased() + "://" + host)
        if o == own { return true }
        // Behind a TLS terminator (tailscale serve) the client's scheme may differ from what
        // nginx saw; the host must still match exactly, with the scheme's default port.
        for s in ["http", "https"] where OriginPolicy.normalize(s + "://" + host) == o {
            return true
        }
        return false
    }

    /// Lowercases, drops a trailing slash and the scheme's default port.
    public static func normalize(_ origin: String) -> String {
        var o = origin.lowercased()
        while o.hasSuffix("/") { o.removeLast() }
        if o.hasPrefix("http://"), o.hasSuffix(":80") { o.removeLast(3) }
        if o.hasPrefix("https://"), o.hasSuffix(":443") { o.removeLast(4) }
        return o
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
