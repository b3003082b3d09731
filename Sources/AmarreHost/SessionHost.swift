public import AmarreCore
import AmarreSession
import CoreMetrics
import AmarreAgents
public import AmarreAuth
public import AmarrePush
public import AmarreStore
import Foundation
public import Logging
public import NIOCore

/// The registry of sessions and the operations the control plane asks for.
///
/// Confined to one event loop: the control server, the WebSocket server, every session
/// and every agent pipe run on it, so state is consistent without locks.
public final class SessionHost {
    public let configuration: AmarreConfiguration
    public let eventLoop: any EventLoop
    let logger: Logger
    let serverEnvironment: [String: String]
    private var sessions: [SessionID: Session] = [:]
    private var order: [SessionID] = []
    /// Sessions deleted whose agent is still shutting down.
    private var stopping: [SessionID: Session] = [:]
    private var stoppingWaiters: [EventLoopPromise<Void>] = []
    let originPolicy: OriginPolicy
    /// The durable store; nil when `AMARRE_DURABLE=0`.
    public let store: RecordStore?
    private var lastPosition: Int64 = 0
    /// Set by `stopAll`: no more changes are taken.
    private var shuttingDown = false
    /// Paired devices, tokens and pairing codes.
    let devices: DeviceRegistry
    /// Notifications; nil when they are off or not set up (tests).
    let push: PushCenter?
    private var lastSeenFlush: Scheduled<Void>?

    /// - Parameter credentials: the device table; by default what `devices.json` holds.
    public init(
        configuration: AmarreConfiguration, eventLoop: any EventLoop, logger: Logger, store: RecordStore?,
        serverEnvironment: [String: String]? = nil, credentials: CredentialTable? = nil,
        pushSender: PushSender? = nil, pushRegistry: PushRegistry = PushRegistry()
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.store = store
        self.devices = DeviceRegistry(
            mode: configuration.auth, path: configuration.devicesPath,
            table: credentials ?? (try? CredentialFile.load(configuration.devicesPath)) ?? CredentialTable(),
            pairTTLSeconds: configuration.pairTTLSeconds, logger: logger)
        self.push =
            configuration.push && pushSender != nil
            ? PushCenter(configuration: configuration, sender: pushSender, registry: pushRegistry, eventLoop: eventLoop, logger: logger)
            : nil
        self.serverEnvironment = serverEnvironment ?? ProcessInfo.processInfo.environment
        self.originPolicy = OriginPolicy(
            allowedOrigins: configuration.allowedOrigins, allowedHosts: configuration.allowedHosts)
        // Called on the event loop: the viewers of the session learn the Expo app was told.
        push?.expoDelivered = { [weak self] event, tokens in
            guard let id = SessionID(event.sessionId) else { return }
            self?.sessions[id]?.pushSent(event, tokens: tokens)
        }
    }

    func nextPosition() -> Int64 {
        lastPosition += 1
        return lastPosition
    }

    /// Brings back the sessions of the store: running ones are spawned again with the same id,
    /// name, instance, cwd and env (and `restored` is recorded in their log); crashed ones stay
    /// crashed. A session whose instance is no longer configured is kept as crashed.
    public func restore(_ rows: [StoredSession]) {
        eventLoop.assertInEventLoop()
        for row in rows {
            lastPosition = max(lastPosition, row.position)
            let request = CreateSessionRequest(
                instanceId: row.instanceId, name: row.name, cwd: row.cwd, env: row.env, worktreeInfo: row.worktree)
            let known = configuration.instance(row.instanceId)
            let instance = known ?? InstanceConfig(id: row.instanceId, agent: .command)
            let session = Session(id: row.id, instance: instance, request: request, host: self, restored: row)
            sessions[row.id] = session
            order.append(row.id)
            guard row.status == .running else { continue }
            guard known != nil else {
                logger.error("session's instance is gone; not restored", metadata: ["session.id": "\(row.id)", "instance.id": "\(row.instanceId)"])
                session.restoreFailed("unknown instance \(row.instanceId)")
                continue
            }
            do throws(AmarreError) {
                try session.start()
                session.recordEvent(.restored)
                logger.info("session restored", metadata: ["session.id": "\(row.id)"])
            } catch {
                logger.error("session could not be restored", metadata: ["session.id": "\(row.id)", "error": "\(error)"])
                session.restoreFailed(error.description)
            }
        }
    }

    func session(_ id: SessionID) -> Session? { sessions[id] }

    /// Answers one control request. Runs on `eventLoop`.
    public func handle(_ request: ControlRequest) -> ControlResponse {
        eventLoop.assertInEventLoop()
        guard !shuttingDown else {
            return .failure(AmarreError(.hostUnavailable, detail: "the session host is shutting down"))
        }
        do throws(AmarreError) {
            switch request {
            case .health:
                return .health(
                    HostHealth(
                        sessions: sessions.count, running: sessions.values.filter { $0.status == .running }.count,
                        version: ControlProtocol.version))
            case .listInstances:
                return .instances(configuration.instances.map { InstanceInfo(id: $0.id, agent: $0.agent.rawValue) })
            case .listSessions:
                return .sessions(order.compactMap { sessions[$0]?.summary })
            case .createSession(let body):
                return .session(try create(body))
            case .getSession(let id):
                guard let s = sessions[id] else { throw .notFound }
                return .session(s.summary)
            case .deleteSession(let id):
                return .session(try delete(id))
            case .restartSession(let id):
                return .session(try restart(id))
            case .listSessionsWithStatus(let status):
                return .sessions(order.compactMap { sessions[$0] }.filter { $0.status == status }.map(\.summary))
            case .stopSession(let id):
                guard let session = sessions[id] else { throw .notFound }
                guard session.status != .stopped else { throw AmarreError(.notRunning, detail: "the session is stopped already") }
                session.archive {}
                return .session(session.summary)
            case .sessionStopping(let id):
                return .stopping(stopping[id] != nil)
            case .renameSession(let id, let name):
                guard let session = sessions[id] else { throw .notFound }
                session.rename(name)
                return .session(session.summary)
            case .pairCreate(let name):
                return try devices.createPairingCode(name: name)
            case .pairRedeem(let code, let name, let address):
                return try devices.redeem(code: code, name: name, address: address)
            case .tokenCreate(let name):
                return try devices.createToken(name: name)
            case .listDevices:
                return .devices(list: devices.devices)
            case .revokeDevice(let id):
                try devices.revoke(id)
                closeClients(ofDevice: id)
                push?.deviceRevoked(id)
                return .revoked
            case .touchDevice(let id):
                deviceSeen(id)
                return .touched
            case .pushVapid, .pushSubscribe, .pushUnsubscribe, .pushTest, .pushTokens, .pushAddToken, .pushRemoveToken:
                guard let push else { throw AmarreError(.pushDisabled, detail: "notifications are off (AMARRE_PUSH=0)") }
                return try push.handle(request)
            case .answerRequest(let sessionID, let requestID, let answer):
                guard let session = sessions[sessionID] else { throw .notFound }
                try session.answerRequest(requestID, answer)
                return .answered(id: requestID)
            case .sendPrompt(let sessionID, let prompt):
                guard let session = sessions[sessionID] else { throw .notFound }
                return .accepted(afterSeq: try session.inject(prompt.line))
            case .abortRun(let sessionID):
                guard let session = sessions[sessionID] else { throw .notFound }
                return .accepted(afterSeq: try session.inject(#"{"type":"abort"}"#))
            case .openRequests(let sessionID):
                guard let session = sessions[sessionID] else { throw .notFound }
                return .requests(records: session.openRequestRecords)
            case .metrics:
                return .metricsText(HostMetrics.exposition(sessions: sessions.values.map { ($0.status, $0.clients.count) }))
            case .traced(let requestID, let inner):
                var logger = self.logger
                logger[metadataKey: "request.id"] = "\(requestID)"
                let response = handle(inner)
                if case .failure(let error) = response {
                    logger.debug("control request failed", metadata: ["error": "\(error)"])
                } else {
                    logger.debug("control request answered")
                }
                return response
            }
        } catch {
            return .failure(error)
        }
    }

    private func create(_ body: CreateSessionRequest) throws(AmarreError) -> SessionSummary {
        try checkCapacity()
        guard let instance = configuration.instance(body.instanceId) else {
            throw AmarreError(.unknownInstance, instanceId: body.instanceId ?? "")
        }
        try SessionEnvironmentPolicy.check(body.env, instance: instance)
        try checkWorktreeFree(body.worktreeInfo, for: nil)
        if let cwd = body.cwd {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: cwd, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .badRequest("cwd \(cwd) is not a directory")
            }
        }
        var id = body.proposedId ?? SessionID.random()
        while sessions[id] != nil || stopping[id] != nil { id = SessionID.random() }
        let session = Session(id: id, instance: instance, request: body, host: self)
        try session.start()
        sessions[id] = session
        order.append(id)
        return session.summary
    }

    func makePlan(_ instance: InstanceConfig, _ body: CreateSessionRequest, resumeToken: String?) throws(AmarreError) -> SpawnPlan {
        var plan = try SpawnPlan.make(
            instance: instance, request: body, configuration: configuration,
            serverEnvironment: serverEnvironment, isExecutable: { access($0, X_OK) == 0 && !SessionHost.isDirectory($0) })
        AgentAdapters.prepare(&plan, for: instance, resumeToken: resumeToken)
        return plan
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Removes a session; its summary (as it was) is the answer, so the API sees its worktree.
    private func delete(_ id: SessionID) throws(AmarreError) -> SessionSummary {
        guard let session = sessions.removeValue(forKey: id) else { throw .notFound }
        let summary = session.summary
        order.removeAll { $0 == id }
        stopping[id] = session
        session.stop { [self] in stopped(id) }
        return summary
    }

    /// Sessions that hold an agent, or may (running, crashed, and stopped ones whose agent is
    /// still stopping, deleted ones included), count toward `AMARRE_MAX_SESSIONS`; archived
    /// (stopped) sessions do not.
    private var activeCount: Int {
        sessions.values.reduce(0) { $0 + ($1.status != .stopped || $1.holdsAgent ? 1 : 0) } + stopping.count
    }

    /// One worktree, one live session: checked here, on the loop, so two creates at once cannot
    /// both take it.
    private func checkWorktreeFree(_ worktree: WorktreeInfo?, for id: SessionID?) throws(AmarreError) {
        guard let path = worktree?.path else { return }
        if let other = sessions.values.first(where: { $0.id != id && $0.status != .stopped && $0.request.worktreeInfo?.path == path }) {
            throw .badRequest("the worktree \(path) is in use by session \(other.id)")
        }
    }

    private func checkCapacity() throws(AmarreError) {
        guard activeCount < configuration.maxSessions else {
            throw AmarreError(.maxSessionsReached, limit: configuration.maxSessions)
        }
    }

    private func restart(_ id: SessionID) throws(AmarreError) -> SessionSummary {
        guard let session = sessions[id] else { throw .notFound }
        guard session.status != .running else { throw AmarreError(.alreadyRunning) }
        guard !session.holdsAgent else {
            session.hurryStop()
            throw AmarreError(.alreadyRunning, detail: "its agent is still stopping; try again in a moment", retryAfter: 1)
        }
        if session.status == .stopped { try checkCapacity() }
        // The policy may have grown since the session was made; and its worktree may have
        // been taken by another session meanwhile.
        try SessionEnvironmentPolicy.check(session.request.env, instance: session.instance)
        try checkWorktreeFree(session.request.worktreeInfo, for: id)
        try session.start()
        session.recordEvent(.restartedByRequest)
        HostMetrics.restarts.increment()
        return session.summary
    }

    // MARK: devices and clients

    /// WebSocket clients of every session.
    var clientCount: Int { sessions.values.reduce(0) { $0 + $1.clients.count } }

    /// Whether one more client may attach to `id` (`AMARRE_MAX_CLIENTS_PER_SESSION`,
    /// `AMARRE_MAX_CLIENTS`).
    func hasRoomForClient(_ id: SessionID) -> Bool {
        guard let session = sessions[id] else { return true }
        return session.clients.count < configuration.maxClientsPerSession && clientCount < configuration.maxClients
    }

    /// Closes every WebSocket of a revoked device at once (1008 `revoked`).
    private func closeClients(ofDevice id: String) {
        for session in sessions.values {
            for client in session.clients where client.deviceID == id { client.revoke() }
        }
    }

    /// A device used amarre now; `lastSeenAt` reaches the file within a few seconds.
    func deviceSeen(_ id: String) {
        guard devices.touch(id), lastSeenFlush == nil else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        lastSeenFlush = eventLoop.scheduleTask(in: .milliseconds(DeviceRegistry.lastSeenWriteDelayMs)) {
            bound.value.lastSeenFlush = nil
            bound.value.devices.flushLastSeen()
        }
    }

    /// Host shutdown: terminates every agent but keeps the sessions in the store, so they
    /// come back on the next start. The future completes when every agent is gone.
    public func stopAll() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        shuttingDown = true
        lastSeenFlush?.cancel()
        lastSeenFlush = nil
        devices.flushLastSeen()
        let all = order.compactMap { sessions[$0] }
        sessions.removeAll()
        order.removeAll()
        for session in all {
            stopping[session.id] = session
            session.shutdown { [self] in stopped(session.id) }
        }
        if stopping.isEmpty { return eventLoop.makeSucceededFuture(()) }
        let promise = eventLoop.makePromise(of: Void.self)
        stoppingWaiters.append(promise)
        return promise.futureResult
    }

    private func stopped(_ id: SessionID) {
        stopping[id] = nil
        if stopping.isEmpty {
            for w in stoppingWaiters { w.succeed(()) }
            stoppingWaiters.removeAll()
        }
    }
}
