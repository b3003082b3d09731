public import AmarreCore
public import Logging

/// Answers REST requests: origin check, routing, one control exchange with the host, and
/// the JSON answer. Pure apart from the `ControlChannel` it is given, so it is tested
/// without sockets.
public struct APIHandler: Sendable {
    public var originPolicy: OriginPolicy
    public var logger: Logger
    /// History for `GET /sessions/<id>/events`; nil when sessions are not durable.
    public var events: (any EventSource)?
    /// `GET /sessions` for a few milliseconds (`AMARRE_LIST_CACHE_MS`).
    public var listCache: SessionListCache

    public init(
        originPolicy: OriginPolicy, logger: Logger, events: (any EventSource)? = nil,
        listCache: SessionListCache = SessionListCache(ttlMs: 0)
    ) {
        self.originPolicy = originPolicy
        self.logger = logger
        self.events = events
        self.listCache = listCache
    }

    public init(configuration: AmarreConfiguration, logger: Logger) {
        self.init(
            originPolicy: OriginPolicy(allowedOrigins: configuration.allowedOrigins, allowedHosts: configuration.allowedHosts),
            logger: logger,
            events: configuration.durable ? StoreEventSource(path: configuration.databasePath) : nil,
            listCache: SessionListCache(ttlMs: configuration.listCacheMs))
    }

    /// The answer to `request`; never fails: every error is turned into its HTTP answer here.
    public func respond(to request: HTTPRequest, host: some ControlChannel) -> HTTPResponse {
        do {
            return try answer(request, host: host)
        } catch {
            return HTTPResponse(failure: error)
        }
    }

    private func answer(_ request: HTTPRequest, host: some ControlChannel) throws(APIError) -> HTTPResponse {
        guard originPolicy.allowsHost(request.host) else {
            logger.notice("refused a request for a host amarre is not served under", metadata: ["http.host": "\(request.host ?? "")"])
            throw APIError(AmarreError(.forbiddenHost))
        }
        if !request.method.isSafe,
           !originPolicy.allows(origin: request.origin, host: request.host, scheme: request.scheme) {
            logger.notice(
                "refused a request from a foreign origin",
                metadata: [
                    "http.method": "\(request.method)", "http.path": "\(request.path)",
                    "http.origin": "\(request.origin ?? "")", "http.host": "\(request.host ?? "")",
                ])
            throw APIError(.forbiddenOrigin)
        }
        switch Route.resolve(method: request.method, path: request.path, query: request.query) {
        case .notFound:
            throw APIError(.notFound)
        case .methodNotAllowed(let allowed):
            throw .methodNotAllowed(allowed: allowed)
        case .badQuery(let detail):
            throw APIError(.badRequest(detail))
        case .matched(let route):
            return try perform(route, request: request, host: host)
        }
    }

    private func perform(_ route: Route, request: HTTPRequest, host: some ControlChannel) throws(APIError) -> HTTPResponse {
        defer {
            // Whatever the outcome, a change may have reached the host: the list is asked anew.
            switch route {
            case .createSession, .deleteSession, .restartSession: listCache.invalidate()
            default: break
            }
        }
        return try respond(route, request: request, host: host)
    }

    private func respond(_ route: Route, request: HTTPRequest, host: some ControlChannel) throws(APIError) -> HTTPResponse {
        switch route {
        case .health:
            return health(host: host)
        case .listInstances:
            let answer = try ask(host, .listInstances)
            guard case .instances(let instances) = answer else { throw unexpected(route, answer) }
            return try .json(status: 200, encoding: instances)
        case .listSessions:
            let list = try listCache.list { () throws(APIError) -> [UInt8] in
                let answer = try ask(host, .listSessions)
                guard case .sessionsJSON(let sessions) = answer else { throw unexpected(route, answer) }
                return sessions.bytes
            }
            return .json(status: 200, bytes: list)
        case .createSession:
            let body: CreateSessionRequest
            do {
                body = try CreateSessionRequest.parse(body: request.body)
            } catch {
                throw APIError(error)
            }
            let answer = try ask(host, .createSession(body))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 201, bytes: summary.bytes)
        case .getSession(let id):
            let answer = try ask(host, .getSession(id))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: summary.bytes)
        case .deleteSession(let id):
            let answer = try ask(host, .deleteSession(id))
            guard case .deleted = answer else { throw unexpected(route, answer) }
            return .noContent
        case .restartSession(let id):
            let answer = try ask(host, .restartSession(id))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: summary.bytes)
        case .sessionEvents(let id, let query):
            guard let events else {
                throw APIError(AmarreError(.notFound, detail: "history is off (AMARRE_DURABLE=0)"))
            }
            // The host says whether the session exists; the page comes from the store.
            let answer = try ask(host, .getSession(id))
            guard case .sessionJSON = answer else { throw unexpected(route, answer) }
            do {
                return .json(status: 200, bytes: try events.eventsJSON(id, query: query))
            } catch let error as AmarreError {
                throw APIError(error)
            } catch {
                logger.error("reading history failed", metadata: ["session.id": "\(id)", "error": "\(error)"])
                throw APIError(AmarreError(.internalError))
            }
        }
    }

    /// 200 with the host's counts when it answers, 503 `{"ok":false,"host":"down"}` when not.
    private func health(host: some ControlChannel) -> HTTPResponse {
        let down = HTTPResponse.json(status: 503, text: #"{"ok":false,"host":"down"}"#)
        let answer: ControlResponse
        do {
            answer = try host.exchange(.health)
        } catch {
            // The channel has logged why.
            return down
        }
        guard case .health(let health) = answer else {
            logger.warning("session host answered a health check with something else", metadata: ["control.answer": "\(answer)"])
            return down
        }
        let body = HealthBody(ok: true, host: "up", version: health.version, sessions: health.sessions, running: health.running)
        do {
            return try .json(status: 200, encoding: body)
        } catch {
            return HTTPResponse(failure: error)
        }
    }

    /// One exchange; a `.failure` answer is thrown as the protocol error it carries.
    private func ask(_ host: some ControlChannel, _ request: ControlRequest) throws(APIError) -> ControlResponse {
        let answer: ControlResponse
        do {
            answer = try host.exchange(request)
        } catch {
            throw APIError(error)
        }
        if case .failure(let error) = answer { throw APIError(error) }
        return answer
    }

    /// The host answered with the wrong kind of response: a bug on one side, logged, 500.
    private func unexpected(_ route: Route, _ answer: ControlResponse) -> APIError {
        logger.error(
            "session host answered with an unexpected kind of response",
            metadata: ["http.route": "\(route)", "control.answer": "\(answer)"])
        return APIError(.internalError)
    }
}

/// `GET /healthz` when the host answers.
private struct HealthBody: Encodable {
    var ok: Bool
    var host: String
    var version: String
    var sessions: Int
    var running: Int
}
