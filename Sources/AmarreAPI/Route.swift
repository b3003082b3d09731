public import AmarreCore
import AmarreStore

/// What a REST request asks for: the method and the path resolved into one typed value.
///
/// `Route.resolve` is the only code that looks at the path; handlers switch over `Route`.
/// Resolution is two steps: the path picks a `Resource` (404 when none matches, or when a
/// session id is not canonical), then the method picks the route on it (405 with the
/// resource's `Allow` list when it has none).
///
/// `GET /sessions/<id>/events` reads its paging parameters from `query` (`EventsQuery`).
public enum Route: Sendable, Equatable {
    case health
    case listInstances
    case listSessions
    case createSession
    case getSession(SessionID)
    case deleteSession(SessionID)
    case restartSession(SessionID)
    case sessionEvents(SessionID, EventsQuery)
    case pair
    case logout
    case authDevice
    case pushVapid
    case pushSubscribe
    case pushUnsubscribe
    case pushTest
    case pushTokens
    case pushAddToken
    case pushRemoveToken(String)
    case answerRequest(SessionID, requestID: String)
    case listSessionsWithStatus(SessionStatus)
    case stopSession(SessionID)
    case renameSession(SessionID)
    case search(SearchParameters)
    case sessionChanges(SessionID, path: String?)
    case sessionFiles(SessionID, path: String)
    case sendPrompt(SessionID)
    case abortRun(SessionID)
    case listRequests(SessionID)
    case metrics

    /// The notification routes (503 `push_disabled` with `AMARRE_PUSH=0`).
    public var isPush: Bool {
        switch self {
        case .pushVapid, .pushSubscribe, .pushUnsubscribe, .pushTest, .pushTokens, .pushAddToken, .pushRemoveToken: true
        default: false
        }
    }

    /// The route's path pattern, a bounded label for metrics (`/sessions/{id}/prompt`).
    /// (A method a resource does not take is counted under the resource's pattern too.)
    public var template: String {
        switch self {
        case .health: "/healthz"
        case .listInstances: "/instances"
        case .listSessions, .createSession, .listSessionsWithStatus: "/sessions"
        case .getSession, .deleteSession, .renameSession: "/sessions/{id}"
        case .restartSession: "/sessions/{id}/restart"
        case .sessionEvents: "/sessions/{id}/events"
        case .pair: "/auth/pair"
        case .logout: "/auth/logout"
        case .authDevice: "/auth/device"
        case .pushVapid: "/push/vapid"
        case .pushSubscribe, .pushUnsubscribe: "/push/subscriptions"
        case .pushTest: "/push/test"
        case .pushTokens, .pushAddToken: "/push/tokens"
        case .pushRemoveToken: "/push/tokens/{token}"
        case .answerRequest: "/sessions/{id}/requests/{requestId}"
        case .stopSession: "/sessions/{id}/stop"
        case .search: "/search"
        case .sessionChanges: "/sessions/{id}/changes"
        case .sessionFiles: "/sessions/{id}/files"
        case .sendPrompt: "/sessions/{id}/prompt"
        case .abortRun: "/sessions/{id}/abort"
        case .listRequests: "/sessions/{id}/requests"
        case .metrics: "/metrics"
        }
    }

    /// Routes answered without credentials: the pairing itself, and a health check that
    /// then tells only whether the host is up.
    public var isOpen: Bool {
        switch self {
        case .health, .pair: true
        default: false
        }
    }

    /// Resolves a request.
    ///
    /// - Parameters:
    ///   - method: `REQUEST_METHOD`.
    ///   - path: `DOCUMENT_URI` (nginx has decoded and normalised it; `HTTPRequest` cuts the query
    ///     off a `REQUEST_URI` it falls back to). One trailing slash is accepted.
    ///   - query: `QUERY_STRING`; read by the events route.
    public static func resolve(method: HTTPMethod, path: String, query: String = "") -> RouteResolution {
        guard let resource = Resource(path: path) else { return .notFound }
        if case .sessionEvents(let id) = resource, method == .get || method == .head {
            switch EventsQuery.parse(query) {
            case .success(let q): return .matched(.sessionEvents(id, q))
            case .failure(let error): return .badQuery(error.detail)
            }
        }
        if resource == .search, method == .get || method == .head {
            switch SearchParameters.parse(query) {
            case .success(let p): return .matched(.search(p))
            case .failure(.badQuery(let detail)): return .badSearch(detail)
            case .failure(.badRequest(let detail)): return .badQuery(detail)
            }
        }
        if resource == .sessions, method == .get || method == .head,
            let status = query.split(separator: "&").first(where: { $0.hasPrefix("status=") })
        {
            guard let s = QueryString.decode(status.dropFirst("status=".count)).flatMap(SessionStatus.init(rawValue:)) else {
                return .badQuery("\"status\" must be running, crashed or stopped")
            }
            return .matched(.listSessionsWithStatus(s))
        }
        if method == .get || method == .head {
            switch resource {
            case .sessionChanges(let id), .sessionFiles(let id):
                var path: String?
                for pair in query.split(separator: "&") where pair.hasPrefix("path=") {
                    guard let decoded = QueryString.decode(pair.dropFirst("path=".count)) else {
                        return .badQuery("\"path\" is not valid percent-encoded UTF-8")
                    }
                    path = decoded
                }
                if case .sessionFiles = resource { return .matched(.sessionFiles(id, path: path ?? "")) }
                return .matched(.sessionChanges(id, path: path.flatMap { $0.isEmpty ? nil : $0 }))
            default: break
            }
        }
        if let route = resource.route(for: method) { return .matched(route) }
        return .methodNotAllowed(allowed: resource.allowedMethods)
    }
}

/// The outcome of `Route.resolve`.
public enum RouteResolution: Sendable, Equatable {
    case matched(Route)
    /// No resource at that path, or a session id that is not 12 lowercase hex characters.
    case notFound
    /// The path names a resource that does not take this method; `allowed` is the `Allow` list.
    case methodNotAllowed(allowed: [HTTPMethod])
    /// A query parameter has a wrong value.
    case badQuery(String)
    /// `GET /search` with a query that is not of the search syntax (400 `bad_query`).
    case badSearch(String)
}

/// A path pattern, before the method is looked at.
enum Resource: Equatable {
    case health
    case instances
    case sessions
    case session(SessionID)
    case sessionRestart(SessionID)
    case sessionEvents(SessionID)
    case authPair
    case authLogout
    case authDevice
    case pushVapid
    case pushSubscriptions
    case pushTest
    case pushTokens
    case pushToken(String)
    case sessionRequest(SessionID, String)
    case sessionStop(SessionID)
    case search
    case sessionChanges(SessionID)
    case sessionFiles(SessionID)
    case sessionPrompt(SessionID)
    case sessionAbort(SessionID)
    case sessionRequests(SessionID)
    case metrics

    /// Longest request id or push token taken from a path.
    static let maxSegmentBytes = 256

    init?(path: String) {
        // The decoded path: a `?` here is a character of a segment (`%3F`), never a query.
        var path = Substring(path)
        guard path.hasPrefix("/") else { return nil }
        path = path.dropFirst()
        if path.hasSuffix("/") { path = path.dropLast() }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        switch segments.count {
        case 1 where segments[0] == "healthz": self = .health
        case 1 where segments[0] == "instances": self = .instances
        case 1 where segments[0] == "sessions": self = .sessions
        case 1 where segments[0] == "search": self = .search
        case 1 where segments[0] == "metrics": self = .metrics
        case 2 where segments[0] == "auth" && segments[1] == "pair": self = .authPair
        case 2 where segments[0] == "auth" && segments[1] == "logout": self = .authLogout
        case 2 where segments[0] == "auth" && segments[1] == "device": self = .authDevice
        case 2 where segments[0] == "push" && segments[1] == "vapid": self = .pushVapid
        case 2 where segments[0] == "push" && segments[1] == "subscriptions": self = .pushSubscriptions
        case 2 where segments[0] == "push" && segments[1] == "test": self = .pushTest
        case 2 where segments[0] == "push" && segments[1] == "tokens": self = .pushTokens
        case 3 where segments[0] == "push" && segments[1] == "tokens":
            guard !segments[2].isEmpty, segments[2].utf8.count <= Resource.maxSegmentBytes else { return nil }
            self = .pushToken(String(segments[2]))
        case 4 where segments[0] == "sessions" && segments[2] == "requests":
            guard let id = SessionID(segments[1]), !segments[3].isEmpty, segments[3].utf8.count <= Resource.maxSegmentBytes
            else { return nil }
            self = .sessionRequest(id, String(segments[3]))
        case 2 where segments[0] == "sessions":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .session(id)
        case 3 where segments[0] == "sessions" && segments[2] == "restart":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionRestart(id)
        case 3 where segments[0] == "sessions" && segments[2] == "changes":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionChanges(id)
        case 3 where segments[0] == "sessions" && segments[2] == "files":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionFiles(id)
        case 3 where segments[0] == "sessions" && segments[2] == "prompt":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionPrompt(id)
        case 3 where segments[0] == "sessions" && segments[2] == "abort":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionAbort(id)
        case 3 where segments[0] == "sessions" && segments[2] == "requests":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionRequests(id)
        case 3 where segments[0] == "sessions" && segments[2] == "stop":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionStop(id)
        case 3 where segments[0] == "sessions" && segments[2] == "events":
            guard let id = SessionID(segments[1]) else { return nil }
            self = .sessionEvents(id)
        default: return nil
        }
    }

    /// The routes of this resource, by method. HEAD is answered wherever GET is.
    private var routes: [(method: HTTPMethod, route: Route)] {
        switch self {
        case .health: [(.get, .health)]
        case .instances: [(.get, .listInstances)]
        case .sessions: [(.get, .listSessions), (.post, .createSession)]
        case .session(let id): [(.get, .getSession(id)), (.delete, .deleteSession(id)), (.patch, .renameSession(id))]
        case .sessionStop(let id): [(.post, .stopSession(id))]
        case .sessionChanges(let id): [(.get, .sessionChanges(id, path: nil))]
        case .sessionFiles(let id): [(.get, .sessionFiles(id, path: ""))]
        // Resolved with its query in `Route.resolve`; listed here for `Allow`.
        case .search: [(.get, .search(SearchParameters(query: SearchQuery(terms: [.word("x")]), limit: 1)))]
        case .sessionRestart(let id): [(.post, .restartSession(id))]
        // Resolved with its query in `Route.resolve`; listed here for `Allow`.
        case .sessionEvents(let id): [(.get, .sessionEvents(id, EventsQuery()))]
        case .authPair: [(.post, .pair)]
        case .authLogout: [(.post, .logout)]
        case .authDevice: [(.get, .authDevice)]
        case .pushVapid: [(.get, .pushVapid)]
        case .pushSubscriptions: [(.post, .pushSubscribe), (.delete, .pushUnsubscribe)]
        case .pushTest: [(.post, .pushTest)]
        case .pushTokens: [(.get, .pushTokens), (.post, .pushAddToken)]
        case .pushToken(let token): [(.delete, .pushRemoveToken(token))]
        case .sessionRequest(let id, let request): [(.post, .answerRequest(id, requestID: request))]
        case .sessionPrompt(let id): [(.post, .sendPrompt(id))]
        case .sessionAbort(let id): [(.post, .abortRun(id))]
        case .sessionRequests(let id): [(.get, .listRequests(id))]
        case .metrics: [(.get, .metrics)]
        }
    }

    func route(for method: HTTPMethod) -> Route? {
        let lookup = method == .head ? HTTPMethod.get : method
        return routes.first { $0.method == lookup }?.route
    }

    /// The pattern of the resource's routes (they share one), for metrics.
    var template: String { routes.first?.route.template ?? "unmatched" }

    var allowedMethods: [HTTPMethod] {
        routes.flatMap { $0.method == .get ? [HTTPMethod.get, .head] : [$0.method] }
    }
}
