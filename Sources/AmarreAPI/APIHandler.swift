import AmarreAuth
import AmarreMetrics
public import AmarreCore
import Foundation
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
    /// Who may ask (`AMARRE_AUTH`); nil: nobody is asked for credentials.
    public var authenticator: Authenticator?
    /// `AMARRE_PUSH`: off, the push routes answer 503 without asking the host.
    public var pushEnabled = true
    /// Worktrees, changes and files (git and the file system, on this thread).
    public var worktrees: Worktrees?
    /// `AMARRE_BASE_PATH`: the cookie's path.
    public var basePath = "/"
    /// `AMARRE_METRICS_TOKEN`: a scraper's bearer token for `GET /metrics`.
    public var metricsToken: String?
    /// This process's series for `GET /metrics` (after the host's).
    public var metrics: @Sendable () -> [UInt8] = { [] }

    public init(
        originPolicy: OriginPolicy, logger: Logger, events: (any EventSource)? = nil,
        listCache: SessionListCache = SessionListCache(ttlMs: 0), authenticator: Authenticator? = nil
    ) {
        self.originPolicy = originPolicy
        self.logger = logger
        self.events = events
        self.listCache = listCache
        self.authenticator = authenticator
    }

    public init(configuration: AmarreConfiguration, logger: Logger) {
        self.init(
            originPolicy: OriginPolicy(allowedOrigins: configuration.allowedOrigins, allowedHosts: configuration.allowedHosts),
            logger: logger,
            events: configuration.durable ? StoreEventSource(path: configuration.databasePath) : nil,
            listCache: SessionListCache(ttlMs: configuration.listCacheMs),
            authenticator: Authenticator(mode: configuration.auth, path: configuration.devicesPath, logger: logger))
        pushEnabled = configuration.push
        worktrees = Worktrees(configuration: configuration)
        basePath = configuration.basePath
        metricsToken = configuration.metricsToken
        metrics = { AmarreMetrics.exposition() }
    }

    /// The answer to `request`; never fails: every error is turned into its HTTP answer here.
    public func respond(to request: HTTPRequest, host: some ControlChannel) -> HTTPResponse {
        do {
            return try answer(request, host: host)
        } catch {
            return HTTPResponse(failure: error)
        }
    }

    /// `respond(to:host:)` logging with `logger` (which carries the request's id); a request
    /// that may change something reaches the host with its id (`ControlRequest.traced`).
    public func respond(to request: HTTPRequest, host: some ControlChannel, logger: Logger) -> HTTPResponse {
        var handler = self
        handler.logger = logger
        guard let id = request.requestID, request.method != .get, request.method != .head else {
            return handler.respond(to: request, host: host)
        }
        return handler.respond(to: request, host: TracedChannel(base: host, requestID: id))
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
        let resolution = Route.resolve(method: request.method, path: request.path, query: request.query)
        let access = authenticator?.decide(request) ?? .open
        if access == .denied, !isScraper(request, resolution) {
            // Without credentials only the open routes answer: everything else, unknown
            // paths included, is 401, so nothing about the API is learnt without them.
            guard case .matched(let route) = resolution, route.isOpen else {
                logger.debug("refused a request without valid credentials", metadata: ["http.path": "\(request.path)"])
                throw APIError(.unauthorized)
            }
        }
        switch resolution {
        case .notFound:
            throw APIError(.notFound)
        case .methodNotAllowed(let allowed):
            throw .methodNotAllowed(allowed: allowed)
        case .badQuery(let detail):
            throw APIError(.badRequest(detail))
        case .badSearch(let detail):
            throw APIError(AmarreError(.badQuery, detail: detail))
        case .matched(let route):
            var response = try perform(route, request: request, access: access, host: host)
            if route != .logout { refresh(access, request: request, response: &response, host: host) }
            return response
        }
    }

    /// Whether the request's credentials (if any are needed) let it send a body past 1 MiB
    /// (a prompt with images): decided before the body is read.
    public func mayReadLargeBody(_ request: HTTPRequest) -> Bool {
        (authenticator?.decide(request) ?? .open) != .denied
    }

    /// `GET /metrics` with `Authorization: Bearer $AMARRE_METRICS_TOKEN`.
    private func isScraper(_ request: HTTPRequest, _ resolution: RouteResolution) -> Bool {
        guard let metricsToken, resolution == .matched(.metrics), let header = request.authorization,
            header.hasPrefix("Bearer ")
        else { return false }
        return Secrets.constantTimeEqual(Secrets.sha256(String(header.dropFirst(7))), Secrets.sha256(metricsToken))
    }

    /// Once a minute per device: tells the host it was seen (`lastSeenAt`) and gives a browser
    /// its cookie again with a fresh lifetime, so a device in use never gets logged out.
    private func refresh(_ access: AccessDecision, request: HTTPRequest, response: inout HTTPResponse, host: some ControlChannel) {
        guard case .device(let info, let token, let source) = access, let authenticator, authenticator.shouldTouch(info.id)
        else { return }
        _ = try? host.exchange(.touchDevice(id: info.id))
        if source == .cookie {
            response.headers.append(.init("Set-Cookie", AccessControl.setCookie(token, secure: request.scheme == "https", path: basePath)))
        }
    }

    private func perform(
        _ route: Route, request: HTTPRequest, access: AccessDecision, host: some ControlChannel
    ) throws(APIError) -> HTTPResponse {
        defer {
            // Whatever the outcome, a change may have reached the host: the list is asked anew.
            switch route {
            case .createSession, .deleteSession, .restartSession, .stopSession, .renameSession: listCache.invalidate()
            default: break
            }
        }
        return try respond(route, request: request, access: access, host: host)
    }

    private func respond(
        _ route: Route, request: HTTPRequest, access: AccessDecision, host: some ControlChannel
    ) throws(APIError) -> HTTPResponse {
        switch route {
        case .health:
            return health(host: host, detailed: access != .denied)
        case .pair:
            return try pair(request, host: host)
        case .logout:
            guard case .device(let info, _, _) = access else {
                throw APIError(AmarreError(.authDisabled, detail: "access control is off (AMARRE_AUTH=none)"))
            }
            let answer = try ask(host, .revokeDevice(id: info.id))
            guard case .revoked = answer else { throw unexpected(route, answer) }
            var response = HTTPResponse.noContent
            response.headers.append(.init("Set-Cookie", AccessControl.clearCookie(secure: request.scheme == "https", path: basePath)))
            return response
        case .authDevice:
            guard case .device(let info, _, _) = access else { return .json(status: 200, text: #"{"auth":"none"}"#) }
            return try .json(status: 200, encoding: DeviceBody(auth: "token", device: info))
        case _ where route.isPush && !pushEnabled:
            throw APIError(AmarreError(.pushDisabled, detail: "notifications are off (AMARRE_PUSH=0)"))
        case .pushVapid:
            let answer = try ask(host, .pushVapid)
            guard case .pushVapid(let key) = answer else { throw unexpected(route, answer) }
            return try .json(status: 200, encoding: ["publicKey": key])
        case .pushSubscribe:
            guard let json = String(validating: request.body, as: UTF8.self) else {
                throw APIError(AmarreError.badRequest("body must be UTF-8 JSON"))
            }
            let answer = try ask(host, .pushSubscribe(json: json, deviceId: access.deviceID))
            guard case .pushSubscribed(let endpoint) = answer else { throw unexpected(route, answer) }
            return try .json(status: 201, encoding: ["endpoint": endpoint])
        case .pushUnsubscribe:
            let endpoint = try StringField.parse(request.body, name: "endpoint")
            let answer = try ask(host, .pushUnsubscribe(endpoint: endpoint))
            guard case .deleted = answer else { throw unexpected(route, answer) }
            return .noContent
        case .pushTest:
            let answer = try ask(host, .pushTest(deviceId: access.deviceID))
            guard case .pushTested(let sent) = answer else { throw unexpected(route, answer) }
            return try .json(status: 200, encoding: ["sent": sent])
        case .pushTokens:
            let answer = try ask(host, .pushTokens)
            guard case .pushTokens(let list) = answer else { throw unexpected(route, answer) }
            return try .json(status: 200, encoding: ["tokens": list])
        case .pushAddToken:
            let token = try StringField.parse(request.body, name: "token")
            let answer = try ask(host, .pushAddToken(token: token, deviceId: access.deviceID))
            guard case .pushToken(let stored) = answer else { throw unexpected(route, answer) }
            return try .json(status: 201, encoding: ["token": stored])
        case .pushRemoveToken(let token):
            let answer = try ask(host, .pushRemoveToken(token: token))
            guard case .deleted = answer else { throw unexpected(route, answer) }
            return .noContent
        case .answerRequest(let session, let requestID):
            let parsed: RequestAnswer
            do {
                parsed = try RequestAnswer.parse(body: request.body)
            } catch {
                throw APIError(error)
            }
            let answer = try ask(host, .answerRequest(session: session, requestId: requestID, answer: parsed))
            guard case .answered(let id) = answer else { throw unexpected(route, answer) }
            return try .json(status: 200, encoding: AnsweredBody(id: id, resolved: true))
        case .sendPrompt(let id):
            var prompt: PromptRequest
            do {
                prompt = try PromptRequest.parse(body: request.body)
            } catch {
                throw APIError(error)
            }
            if prompt.id == nil { prompt.id = "amarre-rest-" + Secrets.hex(Secrets.randomBytes(6)) }
            let answer = try ask(host, .sendPrompt(session: id, prompt: prompt))
            guard case .accepted(let after) = answer else { throw unexpected(route, answer) }
            return try .json(status: 202, encoding: AcceptedBody(sessionId: id.rawValue, afterSeq: after, id: prompt.id))
        case .abortRun(let id):
            let answer = try ask(host, .abortRun(session: id))
            guard case .accepted(let after) = answer else { throw unexpected(route, answer) }
            return try .json(status: 202, encoding: AcceptedBody(sessionId: id.rawValue, afterSeq: after))
        case .listRequests(let id):
            let answer = try ask(host, .openRequests(session: id))
            guard case .requests(let records) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, text: #"{"requests":["# + records.joined(separator: ",") + "]}")
        case .metrics:
            let answer = try ask(host, .metrics)
            guard case .metricsText(let hostText) = answer else { throw unexpected(route, answer) }
            return HTTPResponse(
                status: 200, headers: [.init("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                body: Array(hostText.utf8) + metrics())
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
            var body: CreateSessionRequest
            do {
                body = try CreateSessionRequest.parse(body: request.body)
            } catch {
                throw APIError(error)
            }
            var made: (WorktreeInfo, Worktrees.Made)?
            if let spec = body.worktree {
                made = try prepareWorktree(spec, for: &body, host: host)
            }
            let answer: ControlResponse
            do {
                answer = try ask(host, .createSession(body))
            } catch {
                // The session was not created: what was made for it goes again (only that).
                if let (info, what) = made { worktrees?.discard(info, made: what) }
                throw error
            }
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 201, bytes: summary.bytes)
        case .listSessionsWithStatus(let status):
            let answer = try ask(host, .listSessionsWithStatus(status))
            guard case .sessionsJSON(let sessions) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: sessions.bytes)
        case .stopSession(let id):
            let answer = try ask(host, .stopSession(id))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: summary.bytes)
        case .renameSession(let id):
            let name = try RenameBody.parse(request.body)
            let answer = try ask(host, .renameSession(id, name: name))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: summary.bytes)
        case .search(let parameters):
            guard let events else {
                throw APIError(AmarreError(.notFound, detail: "search needs the store (AMARRE_DURABLE=0)"))
            }
            if let session = parameters.session {
                let answer = try ask(host, .getSession(session))
                guard case .sessionJSON = answer else { throw unexpected(route, answer) }
            }
            return try answering("search") { try .json(status: 200, encoding: try events.search(parameters)) }
        case .getSession(let id):
            let answer = try ask(host, .getSession(id))
            guard case .sessionJSON(let summary) = answer else { throw unexpected(route, answer) }
            return .json(status: 200, bytes: summary.bytes)
        case .deleteSession(let id):
            // The host answers with the summary of what it deleted: a worktree session's
            // worktree is looked at once the session is gone.
            let answer = try ask(host, .deleteSession(id))
            switch answer {
            case .deleted, .sessionJSON: break
            default: throw unexpected(route, answer)
            }
            guard let worktree = (try? answer.summaryValue())?.worktree, let worktrees else { return .noContent }
            // Another session (a stopped one too: it may be resumed) that reuses it keeps it.
            if case .sessionsJSON(let json) = try ask(host, .listSessions),
                let other = (try? json.decode([SessionSummary].self))?.first(where: { $0.worktree?.path == worktree.path })
            {
                return try .json(
                    status: 200,
                    encoding: ["worktree": WorktreeRemoval(path: worktree.path, removed: false, reason: "in use by session \(other.id)")])
            }
            // Not under the feet of the agent: it has the kill grace to go, and then some.
            let deadline = ContinuousClock.now + .milliseconds(worktrees.configuration.killGraceMs) + .seconds(5)
            while case .stopping(true) = try ask(host, .sessionStopping(id)), ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.05)
            }
            let force = request.query.split(separator: "&").contains("worktree=remove")
            let instance = worktrees.configuration.instance((try? answer.summaryValue())?.instanceId)
            let root = instance?.worktreeRoot ?? worktrees.configuration.worktreeRoot
            return try .json(status: 200, encoding: ["worktree": worktrees.remove(worktree, force: force, root: root)])
        case .sessionChanges(let id, let path):
            let summary = try summary(id, host: host)
            guard let cwd = summary.cwd, let worktrees else {
                throw AmarreError(.notFound, detail: "the session has no working directory").asAPIError
            }
            return try answering("changes") {
                if let path { return try .json(status: 200, encoding: try worktrees.diff(cwd: cwd, worktree: summary.worktree, path: path)) }
                return try .json(status: 200, encoding: try worktrees.changes(cwd: cwd, worktree: summary.worktree))
            }
        case .sessionFiles(let id, let path):
            let summary = try summary(id, host: host)
            guard let cwd = summary.cwd else {
                throw AmarreError(.notFound, detail: "the session has no working directory").asAPIError
            }
            return try answering("files") { try .json(status: 200, encoding: try FileBrowser.read(cwd: cwd, relative: path)) }
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
            return try answering("history") { .json(status: 200, bytes: try events.eventsJSON(id, query: query)) }
        }
    }

    /// `POST /auth/pair {"code","name"?}`: the host checks the code (and the attempt limit);
    /// a good one makes a browser device whose token becomes the cookie.
    private func pair(_ request: HTTPRequest, host: some ControlChannel) throws(APIError) -> HTTPResponse {
        let body = try PairRequest.parse(request.body)
        let answer = try ask(host, .pairRedeem(code: body.code, name: body.name, address: request.clientAddress))
        guard case .deviceToken(let id, let name, let text) = answer, let token = DeviceToken(text: text) else {
            throw unexpected(.pair, answer)
        }
        var response = try HTTPResponse.json(status: 200, encoding: PairedBody(id: id, name: name, kind: "browser"))
        response.headers.append(.init("Set-Cookie", AccessControl.setCookie(token, secure: request.scheme == "https", path: basePath)))
        response.headers.append(.init("Cache-Control", "no-store"))
        return response
    }

    /// 200 with the host's counts when it answers, 503 `{"ok":false,"host":"down"}` when not.
    /// Without credentials (`detailed` false) only whether the host is up.
    private func health(host: some ControlChannel, detailed: Bool = true) -> HTTPResponse {
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
        guard detailed else { return .json(status: 200, text: #"{"ok":true,"host":"up"}"#) }
        let body = HealthBody(ok: true, host: "up", version: health.version, sessions: health.sessions, running: health.running)
        do {
            return try .json(status: 200, encoding: body)
        } catch {
            return HTTPResponse(failure: error)
        }
    }

    /// Runs `body`; protocol errors pass as they are, anything else is logged and becomes 500.
    private func answering(_ what: String, _ body: () throws -> HTTPResponse) throws(APIError) -> HTTPResponse {
        do {
            return try body()
        } catch let error as AmarreError {
            throw APIError(error)
        } catch let error as APIError {
            throw error
        } catch {
            logger.error("\(what) failed", metadata: ["error": "\(error)"])
            throw APIError(AmarreError(.internalError))
        }
    }

    /// A session's summary, decoded (for the routes that need its cwd and worktree).
    private func summary(_ id: SessionID, host: some ControlChannel) throws(APIError) -> SessionSummary {
        let answer = try ask(host, .getSession(id))
        guard let summary = try? answer.summaryValue() else { throw unexpected(.getSession(id), answer) }
        return summary
    }

    /// Makes or reuses the worktree of a `POST /sessions` and points the request at it.
    private func prepareWorktree(
        _ spec: WorktreeSpec, for body: inout CreateSessionRequest, host: some ControlChannel
    ) throws(APIError) -> (WorktreeInfo, Worktrees.Made) {
        guard let worktrees, let instance = worktrees.configuration.instance(body.instanceId) else {
            throw APIError(AmarreError(.unknownInstance, instanceId: body.instanceId ?? ""))
        }
        // What the host would refuse is refused before git runs.
        do {
            try SessionEnvironmentPolicy.check(body.env, instance: instance)
        } catch {
            throw APIError(error)
        }
        let answer = try ask(host, .listSessions)
        guard case .sessionsJSON(let json) = answer, let list = try? json.decode([SessionSummary].self) else {
            throw unexpected(.listSessions, answer)
        }
        var inUse: [String: String] = [:]
        for s in list where s.status != .stopped {
            if let w = s.worktree { inUse[Worktrees.realpath(w.path) ?? w.path] = s.id.rawValue }
        }
        let id = SessionID.random()
        do {
            let (info, made) = try worktrees.prepare(
                spec, instance: instance, sessionName: body.name, fallbackName: id.rawValue, inUse: inUse)
            body.cwd = info.path
            body.worktreeInfo = info
            body.proposedId = id
            return (info, made)
        } catch {
            throw APIError(error)
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
        // Only the kind of answer: a payload may hold a credential (`deviceToken`).
        let kind = "\(answer)".prefix { $0 != "(" }
        logger.error(
            "session host answered with an unexpected kind of response",
            metadata: ["http.route": "\(route)", "control.answer": "\(kind)"])
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

/// `GET /auth/device`.
private struct DeviceBody: Encodable {
    var auth: String
    var device: DeviceInfo
}

/// `POST /auth/pair`'s answer.
private struct PairedBody: Encodable {
    var id: String
    var name: String
    var kind: String
}

/// `POST /auth/pair`'s body.
struct PairRequest: Equatable {
    /// Longest code and name read (a code is 26 characters; the host keeps 100 of a name).
    static let maxFieldBytes = 1024
    var code: String
    var name: String?

    static func parse(_ body: [UInt8]) throws(APIError) -> PairRequest {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw APIError(AmarreError.badRequest("body must be a JSON object {\"code\", \"name\"?}"))
        }
        guard let code = object["code"] as? String, !code.isEmpty, code.utf8.count <= maxFieldBytes else {
            throw APIError(AmarreError.badRequest("\"code\" must be the pairing code (a string)"))
        }
        var name: String?
        if let value = object["name"], !(value is NSNull) {
            guard let text = value as? String, text.utf8.count <= maxFieldBytes else {
                throw APIError(AmarreError.badRequest("\"name\" must be a string of at most \(maxFieldBytes) bytes"))
            }
            name = text
        }
        return PairRequest(code: code, name: name)
    }
}

/// `POST /sessions/<id>/requests/<requestId>`'s answer.
private struct AcceptedBody: Encodable {
    var sessionId: String
    var afterSeq: Int64
    /// The command's id as written to the agent (prompts).
    var id: String?
}

private struct AnsweredBody: Encodable {
    var id: String
    var resolved: Bool
}

/// A body `{"<name>":"<string>"}` (other members ignored).
enum StringField {
    static let maxBytes = 4096

    static func parse(_ body: [UInt8], name: String) throws(APIError) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let value = object[name] as? String, !value.isEmpty, value.utf8.count <= maxBytes
        else { throw APIError(AmarreError.badRequest("body must be {\"\(name)\":\"…\"}")) }
        return value
    }
}

/// `PATCH /sessions/<id>`'s body: `{"name":"…"}`; "" removes the name.
enum RenameBody {
    static func parse(_ body: [UInt8]) throws(APIError) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let name = object["name"] as? String
        else { throw APIError(AmarreError.badRequest("body must be {\"name\":\"…\"} (\"\" removes the name)")) }
        guard name.count <= CreateSessionRequest.maxNameCharacters else {
            throw APIError(AmarreError.badRequest("\"name\" is longer than \(CreateSessionRequest.maxNameCharacters) characters"))
        }
        return name.isEmpty ? nil : name
    }
}

extension ControlResponse {
    /// The summary of a `.sessionJSON` answer.
    func summaryValue() throws -> SessionSummary {
        guard case .sessionJSON(let json) = self else { throw AmarreError(.internalError) }
        return try json.decode(SessionSummary.self)
    }
}

extension AmarreError {
    var asAPIError: APIError { APIError(self) }
}
