/// The parts of a REST request the API looks at, copied out of the FastCGI parameters.
///
/// Every field is an owned `String`: libfcgi frees its parameter strings at the next
/// accept or finish, so nothing here may point into them.
public struct HTTPRequest: Sendable, Equatable {
    public var method: HTTPMethod
    /// `DOCUMENT_URI`: the decoded, normalised path, without the query.
    public var path: String
    /// `QUERY_STRING`, without the `?`.
    public var query: String
    /// `Host` as the client sent it, port included (`HTTP_HOST`).
    public var host: String?
    /// The `Origin` header (`HTTP_ORIGIN`), if any.
    public var origin: String?
    /// `http` or `https` as the client saw it; see `HTTPRequest.scheme(forwardedProto:requestScheme:https:)`.
    public var scheme: String
    public var body: [UInt8]
    /// `Authorization` (`HTTP_AUTHORIZATION`).
    public var authorization: String?
    /// `Cookie` (`HTTP_COOKIE`).
    public var cookie: String?
    /// Who sent the request, for the pairing attempt limit: `REMOTE_ADDR`, or the last
    /// `X-Forwarded-For` entry when a proxy on the same machine (`tailscale serve`) passed it on.
    public var clientAddress: String
    /// nginx's `$request_id` (`X-Request-Id`, FastCGI `HTTP_X_REQUEST_ID`): at most 64 letters,
    /// digits and dashes, else nil.
    public var requestID: String?

    public init(
        method: HTTPMethod, path: String, query: String = "", host: String? = nil, origin: String? = nil,
        scheme: String = "http", body: [UInt8] = [], authorization: String? = nil, cookie: String? = nil,
        clientAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.origin = origin
        self.scheme = scheme
        self.body = body
        self.authorization = authorization
        self.cookie = cookie
        self.clientAddress = clientAddress
    }

    /// A request id fit for logs and headers, or nil.
    static func validRequestID(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 64,
            text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) })
        else { return nil }
        return text
    }

    /// Builds a request from CGI parameters, as nginx's `fastcgi_param`s name them; the body
    /// is read separately.
    ///
    /// - Parameter parameter: looks a parameter up; must return a copy, never a borrowed pointer.
    public init(parameters parameter: (String) -> String?) {
        let path: String
        if let uri = parameter("DOCUMENT_URI"), !uri.isEmpty {
            path = uri
        } else {
            // Without DOCUMENT_URI (a config that does not set it), the raw request URI without
            // its query.
            path = String((parameter("REQUEST_URI") ?? "").prefix { $0 != "?" })
        }
        self.init(
            method: HTTPMethod(rawValue: parameter("REQUEST_METHOD") ?? ""),
            path: path,
            query: parameter("QUERY_STRING") ?? "",
            host: parameter("HTTP_HOST").flatMap { $0.isEmpty ? nil : $0 },
            origin: parameter("HTTP_ORIGIN").flatMap { $0.isEmpty ? nil : $0 },
            scheme: HTTPRequest.scheme(
                forwardedProto: parameter("HTTP_X_FORWARDED_PROTO"),
                requestScheme: parameter("REQUEST_SCHEME"),
                https: parameter("HTTPS")),
            authorization: parameter("HTTP_AUTHORIZATION").flatMap { $0.isEmpty ? nil : $0 },
            cookie: parameter("HTTP_COOKIE").flatMap { $0.isEmpty ? nil : $0 },
            clientAddress: HTTPRequest.clientAddress(
                remote: parameter("REMOTE_ADDR") ?? "", forwardedFor: parameter("HTTP_X_FORWARDED_FOR")))
        requestID = parameter("HTTP_X_REQUEST_ID").flatMap(HTTPRequest.validRequestID)
    }

    /// The address a request came from. A loopback peer is a proxy on this machine
    /// (`tailscale serve`, another nginx): the address it appended to `X-Forwarded-For`
    /// (the last entry) is the client's.
    public static func clientAddress(remote: String, forwardedFor: String?) -> String {
        let loopback = remote.hasPrefix("127.") || remote == "::1" || remote.hasPrefix("::ffff:127.") || remote == "unix:"
        guard loopback, let forwardedFor,
            let last = forwardedFor.split(separator: ",").last.map({ Substring($0).trimmingSpaces }), !last.isEmpty
        else { return remote }
        return String(last)
    }

    /// The scheme the client used, for comparing its `Origin` with its own origin.
    ///
    /// `X-Forwarded-Proto` from a TLS terminator in front of nginx wins (its first entry when
    /// there is a list), then nginx's `$scheme` (`REQUEST_SCHEME`), then `HTTPS=on`, else `http`.
    public static func scheme(forwardedProto: String?, requestScheme: String?, https: String?) -> String {
        if let forwarded = forwardedProto?.split(separator: ",").first {
            let first = forwarded.trimmingSpaces.lowercased()
            if !first.isEmpty { return first }
        }
        if let requestScheme {
            let scheme = Substring(requestScheme).trimmingSpaces.lowercased()
            if !scheme.isEmpty { return scheme }
        }
        return https?.lowercased() == "on" ? "https" : "http"
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (no Foundation needed).
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
