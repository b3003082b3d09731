import AmarreCore
import Foundation
import Logging
import NIOCore
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// One agent session: its process, its viewers and its permission ledger.
///
/// Confined to the host's event loop: every method runs there, so no state needs a lock.
final class Session {
    let id: SessionID
    let name: String?
    let instance: InstanceConfig
    let request: CreateSessionRequest
    let createdAt: Int64
    private(set) var spawnedAt: Int64
    private(set) var status: SessionStatus = .running
    private(set) var exit: ExitStatus?

    private let host: SessionHost
    private let eventLoop: any EventLoop
    private var logger: Logger
    private var agent: AgentProcess?
    private var lifecycle = AgentLifecycle()
    private var timer: Scheduled<Void>?
    private(set) var clients: [ClientConnection] = []
    private var ledger = PermissionLedger()
    private var clientsPaused = false
    /// Records relayed since the session was created.
    private(set) var recordCount: Int64 = 0

    /// How long a process that exited may keep its stdout open (a stray child holding it)
    /// before the crash is reported anyway.
    static let drainDeadline = TimeAmount.seconds(2)

    init(id: SessionID, instance: InstanceConfig, request: CreateSessionRequest, host: SessionHost, logger: Logger) {
        self.id = id
        self.name = request.name
        self.instance = instance
        self.request = request
        self.host = host
        self.eventLoop = host.eventLoop
        let now = Session.nowMs()
        self.createdAt = now
        self.spawnedAt = now
        var logger = logger
        logger[metadataKey: "session.id"] = "\(id)"
        self.logger = logger
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    var summary: SessionSummary {
        SessionSummary(
            id: id, name: name, instanceId: instance.id, status: status, agent: instance.agent.rawValue,
            spawnedAt: spawnedAt, clients: clients.count, exitCode: exit?.exitCode, signal: exit?.signal,
            cwd: request.cwd, createdAt: createdAt, pendingRequests: ledger.pending)
    }

    // MARK: lifecycle

    /// Spawns the agent. Throws when it could not start; the session then does not exist.
    func start(_ plan: SpawnPlan) throws(AmarreError) {
        lifecycle = AgentLifecycle()
        ledger = PermissionLedger()
        agent = try AgentProcess.spawn(
            plan, on: eventLoop, configuration: host.configuration, delegate: self, logger: logger)
        status = .running
        exit = nil
        spawnedAt = Session.nowMs()
        logger.info("agent started", metadata: ["child.pid": "\(agent?.pid ?? 0)", "instance.id": "\(instance.id)"])
    }

    /// Stops the session for good: clients closed with 1000, agent terminated.
    /// `done` runs once the agent process is gone.
    func stop(done: @escaping () -> Void) {
        status = .stopped
        for client in clients { client.close(code: .normalClosure) }
        clients.removeAll()
        onStopped = done
        perform(lifecycle.stopRequested())
    }

    private var onStopped: (() -> Void)?

    private func perform(_ action: AgentLifecycle.Action) {
        switch action {
        case .none:
            break
        case .terminate:
            agent?.closeStdin()
            agent?.signalGroup(SIGTERM)
            let grace = TimeAmount.milliseconds(Int64(host.configuration.killGraceMs))
            timer = eventLoop.assumeIsolated().scheduleTask(in: grace) { [self] in
                perform(lifecycle.graceExpired())
            }
        case .kill:
            logger.warning("agent ignored SIGTERM, sending SIGKILL")
            agent?.signalGroup(SIGKILL)
        case .awaitDrain:
            timer = eventLoop.assumeIsolated().scheduleTask(in: Session.drainDeadline) { [self] in
                perform(lifecycle.drainDeadlinePassed())
            }
        case .reportCrash(let status):
            timer?.cancel()
            timer = nil
            crashed(status)
        case .finishStop(let status):
            timer?.cancel()
            timer = nil
            agent?.closeOutputs()
            agent = nil
            logger.info("agent stopped", metadata: ["exit": "\(status.map(\.description) ?? "-")"])
            let done = onStopped
            onStopped = nil
            done?()
        }
    }

    private func crashed(_ status: ExitStatus) {
        self.status = .crashed
        self.exit = status
        ledger.reset()
        agent?.closeOutputs()
        agent = nil
        logger.warning("agent crashed", metadata: ["exit": "\(status)"])
        let event =
            #"{"type":"amarre.session_event","event":"crashed","exitCode":"#
            + (status.exitCode.map(String.init) ?? "null") + #","signal":"#
            + (status.signal.map(JSONText.quote) ?? "null") + "}"
        for client in clients {
            client.send(event)
            client.close(code: .unexpectedServerError)
            client.flush()
        }
        clients.removeAll()
    }

    // MARK: clients

    func attach(_ client: ClientConnection) {
        guard status == .running else {
            client.close(code: .init(codeNumber: 1011), reason: "session is \(status.rawValue)")
            client.flush()
            return
        }
        clients.append(client)
        client.send(hello)
        client.flush()
        if clientsPaused { client.setReading(false) }
    }

    func detach(_ client: ClientConnection) {
        if let i = clients.firstIndex(where: { $0 === client }) { clients.remove(at: i) }
    }

    private var hello: String {
        #"{"type":"amarre.hello","protocol":"# + JSONText.quote(ControlProtocol.version)
            + #","sessionId":"# + JSONText.quote(id.rawValue)
            + #","instanceId":"# + JSONText.quote(instance.id)
            + #","agent":"# + JSONText.quote(instance.agent.rawValue)
            + #","status":"# + JSONText.quote(status.rawValue)
            + #","seq":\#(recordCount),"capabilities":["invalid_json_errors","permission_first_answer_wins","request_resolved"]}"#
    }

    /// A text message from a viewer: one JSON value, or one per line.
    func clientSent(_ message: ByteBuffer, from client: ClientConnection) {
        guard status == .running, let agent else { return }
        let whole = message.withUnsafeReadableBytes { JSONScanner.scan($0) }
        if let whole {
            var line = message
            if whole.hasStructuralNewlines {
                // Pretty-printed JSON: its newlines are whitespace outside strings.
                line = ByteBuffer(bytes: message.readableBytesView.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 })
            }
            forward(line, whole, from: client, to: agent)
        } else {
            var rest = message
            var splitter = LineSplitter(maxRecordBytes: max(1, message.readableBytes))
            var anyInvalid = false
            splitter.feed(&rest) { output in
                guard case .record(let line) = output else { return }
                if let summary = line.withUnsafeReadableBytes({ JSONScanner.scan($0) }) {
                    forward(line, summary, from: client, to: agent)
                } else {
                    anyInvalid = true
                }
            }
            splitter.finish { output in
                guard case .record(let line) = output else { return }
                if let summary = line.withUnsafeReadableBytes({ JSONScanner.scan($0) }) {
                    forward(line, summary, from: client, to: agent)
                } else {
                    anyInvalid = true
                }
            }
            if anyInvalid {
                client.send(#"{"type":"amarre.error","error":"invalid_json","detail":"frames must hold JSON values, one per line"}"#)
                client.flush()
            }
        }
        agent.flushStdin()
        if !agent.stdinWritable, !clientsPaused {
            clientsPaused = true
            for c in clients { c.setReading(false) }
        }
        flushClients()
    }

    private func forward(_ line: ByteBuffer, _ summary: JSONScanner.Summary, from client: ClientConnection, to agent: AgentProcess) {
        if summary.type == "extension_ui_response", let answerID = summary.id {
            switch ledger.clientAnswered(id: answerID) {
            case .alreadyAnswered:
                client.send(
                    #"{"type":"amarre.error","error":"already_answered","id":"# + JSONText.quote(answerID)
                        + #","detail":"another client answered this request first"}"#)
                return
            case .forward:
                let notice =
                    #"{"type":"amarre.request_resolved","id":"# + JSONText.quote(answerID) + #","response":"#
                    + String(decoding: line.readableBytesView, as: UTF8.self) + "}"
                broadcast(notice)
            }
        }
        var out = line
        out.writeInteger(UInt8(0x0A))
        agent.writeStdin(out)
    }

    private func broadcast(_ text: String) {
        let buffer = ByteBuffer(string: text)
        for c in clients { c.send(buffer) }
    }

    private func flushClients() {
        for c in clients { c.flush() }
    }
}

extension Session: AgentProcessDelegate {
    func agentWrote(_ output: LineSplitter.Output) {
        switch output {
        case .record(var line):
            recordCount += 1
            let valid = line.withUnsafeReadableBytes { UTF8Validation.isValid($0) }
            if !valid {
                // Text frames must be UTF-8: repair rather than drop (U+FFFD for bad bytes).
                line = ByteBuffer(string: String(decoding: line.readableBytesView, as: UTF8.self))
            }
            if line.readableBytesView.firstRange(of: Session.uiRequestMarker) != nil,
               let s = line.withUnsafeReadableBytes({ JSONScanner.scan($0) })
            {
                ledger.agentWrote(type: s.type, id: s.id, method: s.method)
            }
            for c in clients { c.send(line) }
        case .oversized(let bytes):
            logger.warning(
                "agent record over the size limit dropped",
                metadata: ["record.bytes": "\(bytes)", "record.limit": "\(host.configuration.maxRecordBytes)"])
            broadcast(
                #"{"type":"amarre.error","error":"record_too_large","bytes":\#(bytes),"limit":\#(host.configuration.maxRecordBytes)}"#)
        }
    }

    private static let uiRequestMarker = Array("extension_ui_request".utf8)

    func agentReadComplete() { flushClients() }

    func agentStdoutClosed() { perform(lifecycle.stdoutClosed()) }

    func agentExited(_ status: ExitStatus) { perform(lifecycle.processExited(status)) }

    func agentStdinWritabilityChanged(_ writable: Bool) {
        guard writable, clientsPaused else { return }
        clientsPaused = false
        for c in clients { c.setReading(true) }
    }
}
