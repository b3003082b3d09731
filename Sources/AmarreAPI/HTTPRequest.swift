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

    public init(
        method: HTTPMethod, path: String, query: String = "", host: String? = nil, origin: String? = nil,
        scheme: String = "http", body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.origin = origin
        self.scheme = scheme
        self.body = body
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
            // Without DOCUMENT_URI (a config that does not set it), the raw request URI; the
            // router ignores its query part.
            path = parameter("REQUEST_URI") ?? ""
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
                https: parameter("HTTPS")))
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
