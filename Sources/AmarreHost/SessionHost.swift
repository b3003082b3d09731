public import AmarreCore
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

    public init(
        configuration: AmarreConfiguration, eventLoop: any EventLoop, logger: Logger,
        serverEnvironment: [String: String]? = nil
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.serverEnvironment = serverEnvironment ?? ProcessInfo.processInfo.environment
        self.originPolicy = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
    }

    func session(_ id: SessionID) -> Session? { sessions[id] }

    /// Answers one control request. Runs on `eventLoop`.
    public func handle(_ request: ControlRequest) -> ControlResponse {
        eventLoop.assertInEventLoop()
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
                try delete(id)
                return .deleted
            case .restartSession(let id):
                return .session(try restart(id))
            }
        } catch {
            return .failure(error)
        }
    }

    private func create(_ body: CreateSessionRequest) throws(AmarreError) -> SessionSummary {
        guard sessions.count < configuration.maxSessions else {
            throw AmarreError(.maxSessionsReached, limit: configuration.maxSessions)
        }
        guard let instance = configuration.instance(body.instanceId) else {
            throw AmarreError(.unknownInstance, instanceId: body.instanceId ?? "")
        }
        if let cwd = body.cwd {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: cwd, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .badRequest("cwd \(cwd) is not a directory")
            }
        }
        let plan = try makePlan(instance, body)
        var id = SessionID.random()
        while sessions[id] != nil || stopping[id] != nil { id = SessionID.random() }
        let session = Session(id: id, instance: instance, request: body, host: self, logger: logger)
        try session.start(plan)
        sessions[id] = session
        order.append(id)
        return session.summary
    }

    private func makePlan(_ instance: InstanceConfig, _ body: CreateSessionRequest) throws(AmarreError) -> SpawnPlan {
        try SpawnPlan.make(
            instance: instance, request: body, configuration: configuration,
            serverEnvironment: serverEnvironment, isExecutable: { access($0, X_OK) == 0 && !SessionHost.isDirectory($0) })
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private func delete(_ id: SessionID) throws(AmarreError) {
        guard let session = sessions.removeValue(forKey: id) else { throw .notFound }
        order.removeAll { $0 == id }
        stopping[id] = session
        session.stop { [self] in
            stopping[id] = nil
            if stopping.isEmpty {
                for w in stoppingWaiters { w.succeed(()) }
                stoppingWaiters.removeAll()
            }
        }
    }

    private func restart(_ id: SessionID) throws(AmarreError) -> SessionSummary {
        guard let session = sessions[id] else { throw .notFound }
        guard session.status != .running else { throw AmarreError(.alreadyRunning) }
        try session.start(try makePlan(session.instance, session.request))
        return session.summary
    }

    /// Stops every session; the future completes when every agent is gone.
    public func stopAll() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        for id in order {
            do throws(AmarreError) { try delete(id) } catch { logger.error("stop failed", metadata: ["error": "\(error)"]) }
        }
        if stopping.isEmpty { return eventLoop.makeSucceededFuture(()) }
        let promise = eventLoop.makePromise(of: Void.self)
        stoppingWaiters.append(promise)
        return promise.futureResult
    }
}
