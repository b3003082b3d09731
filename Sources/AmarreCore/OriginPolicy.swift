/// Decides whether a browser request may change state or open a WebSocket.
///
/// A request without `Origin` (curl, native apps) is allowed. A request with one is allowed
/// when the origin is the request's own (`scheme://Host`) or listed in
/// `AMARRE_ALLOWED_ORIGINS`. Everything else gets 403: a page on another site must not be
/// able to drive an agent that can run shell commands.
public struct OriginPolicy: Sendable, Equatable {
    public var allowedOrigins: Set<String>

    public init(allowedOrigins: [String]) {
        self.allowedOrigins = Set(allowedOrigins.map(OriginPolicy.normalize))
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
