import AmarreJSON
/// The one error type that crosses the API <-> host boundary and reaches clients.
///
/// `code` is the protocol's `error` string; the JSON body and the HTTP status are
/// derived here and nowhere else.
public struct AmarreError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let notFound = Code(rawValue: "not_found")
        public static let badRequest = Code(rawValue: "bad_request")
        public static let maxSessionsReached = Code(rawValue: "max_sessions_reached")
        public static let unknownInstance = Code(rawValue: "unknown_instance")
        public static let alreadyRunning = Code(rawValue: "already_running")
        public static let notRunning = Code(rawValue: "not_running")
        public static let hostUnavailable = Code(rawValue: "host_unavailable")
        public static let spawnFailed = Code(rawValue: "spawn_failed")
        public static let forbiddenOrigin = Code(rawValue: "forbidden_origin")
        public static let forbiddenHost = Code(rawValue: "forbidden_host")
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let internalError = Code(rawValue: "internal_error")
        public static let upgradeRequired = Code(rawValue: "upgrade_required")
        /// No valid credentials (`AMARRE_AUTH=token`).
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// `POST /auth/pair` with a wrong, expired or used code.
        public static let invalidCode = Code(rawValue: "invalid_code")
        /// Too many failed pairing attempts from one address.
        public static let tooManyAttempts = Code(rawValue: "too_many_attempts")
        /// The session or the host has as many WebSocket clients as it takes.
        public static let tooManyClients = Code(rawValue: "too_many_clients")
        /// Pairing and tokens with `AMARRE_AUTH=none`.
        public static let authDisabled = Code(rawValue: "auth_disabled")
        /// The push routes with `AMARRE_PUSH=0`.
        public static let pushDisabled = Code(rawValue: "push_disabled")
        /// A path outside what the request may reach (a session's files).
        public static let forbidden = Code(rawValue: "forbidden")
        /// `GET /search` with a query that is not of the search syntax.
        public static let badQuery = Code(rawValue: "bad_query")
        /// A request answered (or withdrawn) before this answer.
        public static let alreadyAnswered = Code(rawValue: "already_answered")
    }

    public var code: Code
    /// Human-readable detail, safe to show to a client.
    public var detail: String?
    /// `limit` of `max_sessions_reached`.
    public var limit: Int?
    /// `instanceId` of `unknown_instance`.
    public var instanceId: String?
    /// Seconds to wait (`too_many_attempts`); also sent as `Retry-After`.
    public var retryAfter: Int?

    public init(_ code: Code, detail: String? = nil, limit: Int? = nil, instanceId: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.detail = detail
        self.limit = limit
        self.instanceId = instanceId
        self.retryAfter = retryAfter
    }

    public static func badRequest(_ detail: String) -> AmarreError { AmarreError(.badRequest, detail: detail) }
    public static let notFound = AmarreError(.notFound)

    public var httpStatus: Int {
        switch code {
        case .notFound: 404
        case .badRequest, .badQuery: 400
        case .maxSessionsReached, .tooManyAttempts: 429
        case .unauthorized, .invalidCode: 401
        case .tooManyClients, .pushDisabled: 503
        case .authDisabled, .alreadyAnswered: 409
        case .unknownInstance: 404
        case .alreadyRunning, .notRunning: 409
        case .hostUnavailable: 503
        case .forbiddenOrigin, .forbiddenHost, .forbidden: 403
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .upgradeRequired: 426
        default: 500
        }
    }

    /// `{"error": code, ...}` with only the fields the code carries.
    public var jsonBody: String {
        var out = "{\"error\":" + JSONText.quote(code.rawValue)
        if let limit { out += ",\"limit\":\(limit)" }
        if let instanceId { out += ",\"instanceId\":" + JSONText.quote(instanceId) }
        if let retryAfter { out += ",\"retryAfter\":\(retryAfter)" }
        if let detail { out += ",\"detail\":" + JSONText.quote(detail) }
        return out + "}"
    }

    public var description: String {
        detail.map { "\(code.rawValue): \($0)" } ?? code.rawValue
    }
}
