import AmarreAgents
import AmarreCore
import AmarreJSON
import AmarreSession
import CoreMetrics
import AmarrePush
import AmarreStore
import Foundation
import Logging
import NIOCore
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// One agent session: the I/O driver of its `SessionCore` (sequencing, framing, the ledger,
/// adapter dispatch, lifecycle and restart budget, all without I/O). The session owns the
/// agent process, the viewers, the store and the timers; it feeds the core what happened and
/// performs the effects the core returns, in order.
///
/// Confined to the host's event loop: every method runs there, so no state needs a lock.
final class Session {
    let id: SessionID
    private(set) var name: String?
    let instance: InstanceConfig
    let request: CreateSessionRequest
    let createdAt: Int64
    let position: Int64
    private(set) var spawnedAt: Int64
    private(set) var status: SessionStatus
    private(set) var exit: ExitStatus?
    /// Everything that needs no I/O.
    private var core: SessionCore
    /// Sequence number of the last record published.
    var lastSeq: Int64 { core.lastSeq }

    private let host: SessionHost
    private let eventLoop: any EventLoop
    private let store: RecordStore?
    private var logger: Logger
    private var agent: AgentProcess?
    private var timer: Scheduled<Void>?
    private var restartTimer: Scheduled<Void>?
    private(set) var clients: [ClientConnection] = []
    private var clientsPaused = false
    private var onStopped: (() -> Void)?
    /// Who is looking (notifications are sent only when nobody is).
    private var attention: Attention
    /// The agent's output is not read while the store's backlog is over its limit.
    private var outputPaused = false
    /// The agent process has exited: its output is never paused again.
    private var agentExitSeen = false
    /// When the first record of the agent read being relayed arrived (relay latency).
    private var readStarted: NIODeadline?
    /// A `terminal` program's output not yet published: coalesced for at most
    /// `terminalFlushDelay`, published in records of at most `terminalChunkBytes`.
    private var terminalPending: [UInt8] = []
    private var terminalFlush: Scheduled<Void>?
    static let terminalFlushDelay = TimeAmount.milliseconds(5)
    static let terminalChunkBytes = 64 << 10

    /// How long a process that exited may keep its stdout open (a stray child holding it)
    /// before the crash is reported anyway.
    static let drainDeadline = TimeAmount.seconds(2)
    /// Records read from the store per replay step.
    static let replayPageSize = 2048

    init(
        id: SessionID, instance: InstanceConfig, request: CreateSessionRequest, host: SessionHost,
        restored: StoredSession? = nil
    ) {
        self.id = id
        self.name = request.name
        self.instance = instance
        self.request = request
        self.host = host
        self.eventLoop = host.eventLoop
        self.store = host.store
        let now = Session.nowMs()
        self.createdAt = restored?.createdAt ?? now
        self.spawnedAt = restored?.spawnedAt ?? now
        self.position = restored?.position ?? host.nextPosition()
        self.status = restored?.status ?? .running
        self.exit = restored.flatMap { $0.exitCode != nil || $0.signal != nil ? ExitStatus(exitCode: $0.exitCode, signal: $0.signal) : nil }
        // After an unclean stop, numbers up to the reservation may have been seen: the core
        // skips them.
        self.core = SessionCore(
            lastSeq: restored?.lastSeq ?? 0, seqReserved: restored?.seqReserved ?? 0, resumeToken: restored?.resumeToken,
            carry: AdapterCarry(jsonText: restored?.agentState), restartPolicy: instance.restart,
            restartBaseDelayMs: host.configuration.restartBackoffMs, notificationGraceMs: Int64(host.configuration.pushGraceMs),
            terminalScrollbackBytes: instance.agent == .terminal ? host.configuration.terminalScrollbackBytes : nil)
        var logger = host.logger
        logger[metadataKey: "session.id"] = "\(id)"
        self.logger = logger
        self.attention = Attention(graceMs: Int64(host.configuration.pushGraceMs))
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    var summary: SessionSummary {
        SessionSummary(
            id: id, name: name, instanceId: instance.id, status: status, agent: instance.agent.rawValue,
            spawnedAt: spawnedAt, clients: clients.count, exitCode: exit?.exitCode, signal: exit?.signal,
            cwd: request.cwd, createdAt: createdAt, lastSeq: lastSeq, pendingRequests: core.ledger.pending,
            worktree: request.worktreeInfo)
    }

    private var stored: StoredSession {
        StoredSession(
            id: id, name: name, instanceId: instance.id, cwd: request.cwd, env: request.env, status: status,
            exitCode: exit?.exitCode, signal: exit?.signal, createdAt: createdAt, spawnedAt: spawnedAt,
            position: position, resumeToken: core.resumeToken, pendingRequests: core.ledger.pending,
            seqReserved: core.seqReserved, worktree: request.worktreeInfo, agentState: core.carry.jsonText)
    }

    private func persist() {
        guard !core.deleted else { return }
        store?.save(stored)
    }

    // MARK: lifecycle

    /// Spawns the agent. Throws when it could not start (the status is left as it was).
    func start() throws(AmarreError) {
        let process: AgentProcess
        let plan: SpawnPlan
        do {
            plan = try host.makePlan(instance, request, resumeToken: core.resumeToken)
            // A terminal program started again gets the size its viewers have now.
            process = try AgentProcess.spawn(
                plan, on: eventLoop, configuration: host.configuration,
                terminalSize: core.terminal?.size ?? .init(cols: 80, rows: 24), delegate: self, logger: logger)
        } catch {
            if error.code == .spawnFailed { HostMetrics.spawnFailures.increment() }
            throw error
        }
        agent = process
        outputPaused = false
        agentExitSeen = false
        let adapter = AgentAdapters.adapter(
            for: instance, resumeToken: core.resumeToken, carry: core.carry,
            gateAsksConfirm: plan.environment[PiAgent.gatePromptVariable] == "confirm")
        let started = core.agentStarted(adapter: adapter)
        clientsPaused = false
        status = .running
        exit = nil
        spawnedAt = Session.nowMs()
        persist()
        logger.info("agent started", metadata: ["child.pid": "\(process.pid)", "instance.id": "\(instance.id)"])
        perform(started)
        process.flushStdin()
    }

    /// Whether an agent process is still there (running, or stopping).
    var holdsAgent: Bool { agent != nil }

    /// Someone wants the session back while its agent is still stopping: the grace is cut
    /// short (SIGKILL now), so the restart they retry finds it gone.
    func hurryStop() {
        perform(core.graceExpired())
    }

    /// Archives the session: clients closed with 1000, the agent terminated like a delete,
    /// the history kept (`POST /sessions/<id>/stop`). `done` runs once the agent is gone.
    func archive(done: @escaping () -> Void) {
        endForViewers()
        core.closeAllRequests()
        persist()
        finishWhenStopped(done)
    }

    /// Status `stopped`: no automatic restart, viewers closed with 1000, nothing pending.
    private func endForViewers() {
        restartTimer?.cancel()
        restartTimer = nil
        status = .stopped
        for client in clients { client.close(code: .normalClosure) }
        clients.removeAll()
        attention.removeAll()
        core.closeAllRequests()
    }

    /// `PATCH /sessions/<id>`: every viewer sees the new name (`renamed`, kept in the log).
    func rename(_ newName: String?) {
        name = newName.flatMap { $0.isEmpty ? nil : $0 }
        persist()
        recordEvent(.renamed(name: name))
        flushClients()
    }

    /// Stops the session for good: clients closed with 1000, agent terminated, records
    /// deleted. `done` runs once the agent process is gone.
    func stop(done: @escaping () -> Void) {
        endForViewers()
        core.markDeleted()
        store?.delete(id)
        finishWhenStopped(done)
    }

    /// Stops the agent if there is one; `done` runs once it is gone.
    private func finishWhenStopped(_ done: @escaping () -> Void) {
        guard agent != nil else {
            // Crashed (or restored as crashed): no process to wait for.
            done()
            return
        }
        onStopped = done
        perform(core.stopRequested())
    }

    /// Host shutdown: terminate the agent but keep the session (it is restored on start).
    func shutdown(done: @escaping () -> Void) {
        restartTimer?.cancel()
        restartTimer = nil
        for client in clients { client.close(code: .goingAway) }
        clients.removeAll()
        // A clean stop: nothing handed out is lost, so no numbers need skipping next time.
        core.releaseReservation()
        switch core.lifecycle.state {
        case .running:
            store?.save(stored)
        case .draining(let exit):
            // It had already exited (its crash was being drained): it comes back crashed.
            status = .crashed
            self.exit = exit
            store?.save(stored)
        default:
            break
        }
        finishWhenStopped(done)
    }

    /// A session that was running could not be spawned again after a restart of the host: it
    /// is crashed (it can be restarted once the cause is fixed), and the log says why.
    func restoreFailed(_ detail: String) {
        status = .crashed
        exit = nil
        recordEvent(.restoreFailed(detail: detail))
        persist()
        if let push = host.push {
            push.notify(push.texts.crashed(session: id.rawValue, name: name, how: "could not be started again: \(detail)"))
        }
    }

    /// Writes `event` to the log, sequenced like any record (no client is attached yet when
    /// a session is restored).
    func recordEvent(_ event: ServerRecord.SessionEvent) {
        perform(core.publish(.sessionEvent(event)))
    }

    /// Performs what the core asked for, in order. `client`: the one whose value it was.
    private func perform(_ effects: [SessionCore.Effect], from client: ClientConnection? = nil) {
        for effect in effects {
            switch effect {
            case .saveSession(let waitForCommit):
                guard let store else { break }
                store.save(stored)
                if waitForCommit { store.flush() }
            case .append(let seq, let record, let type):
                store?.append(id, seq: seq, data: record, type: type)
            case .broadcast(let seq, let record):
                HostMetrics.recordsRelayed.increment()
                HostMetrics.recordBytesRelayed.increment(by: record.count)
                if !clients.isEmpty {
                    let buffer = ByteBuffer(bytes: record)
                    for c in clients { c.send(buffer, seq: seq) }
                }
            case .requestOpened(_, let dueAt):
                guard host.push != nil else { break }
                let delay = max(0, dueAt - Session.nowMs())
                eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) { [self] in checkOpenRequests() }
            case .runEnded:
                if let push = host.push, !attention.isLooking(now: Session.nowMs()) {
                    push.notify(push.texts.done(session: id.rawValue, name: name))
                }
            case .writeAgent(let line):
                var buffer = ByteBuffer(bytes: line)
                buffer.writeInteger(UInt8(0x0A))
                agent?.writeStdin(buffer)
            case .reply(let record):
                client?.send(record)
            case .presence(let visible):
                guard let client else { break }
                attention.presence(ObjectIdentifier(client), visible: visible)
                if !visible { checkOpenRequests() }
            case .lifecycle(let action):
                perform(action)
            case .writeTerminal(let bytes):
                agent?.writeStdin(ByteBuffer(bytes: bytes))
            case .resizeTerminal(let size):
                agent?.setTerminalSize(cols: size.cols, rows: size.rows)
            }
        }
    }

    private func perform(_ action: AgentLifecycle.Action) {
        switch action {
        case .none:
            break
        case .terminate:
            agent?.closeStdin()
            agent?.signalGroup(SIGTERM)
            let grace = TimeAmount.milliseconds(Int64(host.configuration.killGraceMs))
            timer = eventLoop.assumeIsolated().scheduleTask(in: grace) { [self] in
                perform(core.graceExpired())
            }
        case .kill:
            logger.warning("agent ignored SIGTERM, sending SIGKILL")
            agent?.signalGroup(SIGKILL)
        case .awaitDrain:
            timer = eventLoop.assumeIsolated().scheduleTask(in: Session.drainDeadline) { [self] in
                perform(core.drainDeadlinePassed())
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
            core.agentGone()
            logger.info("agent stopped", metadata: ["exit": "\(status.map(\.description) ?? "-")"])
            let done = onStopped
            onStopped = nil
            done?()
        }
    }

    private func crashed(_ status: ExitStatus) {
        let looking = attention.isLooking(now: Session.nowMs())
        self.status = .crashed
        self.exit = status
        clientsPaused = false
        core.agentCrashed()
        agent?.closeOutputs()
        agent = nil
        logger.warning("agent crashed", metadata: ["exit": "\(status)"])
        perform(core.publish(.sessionEvent(.crashed(exitCode: status.exitCode, signal: status.signal))))
        for client in clients {
            client.close(code: .unexpectedServerError)
            client.flush()
        }
        clients.removeAll()
        attention.removeAll()
        persist()
        if !looking, let push = host.push {
            let how = status.signal.map { "signal \($0)" } ?? "code \(status.exitCode.map(String.init) ?? "?")"
            push.notify(push.texts.crashed(session: id.rawValue, name: name, how: how))
        }
        scheduleAutomaticRestart(after: status)
    }

    private func scheduleAutomaticRestart(after status: ExitStatus) {
        switch core.restartDecision(after: status, nowMs: Session.nowMs()) {
        case .none:
            break
        case .giveUp(let attempts):
            logger.warning("automatic restart gave up", metadata: ["restart.attempts": "\(attempts)"])
            recordEvent(.gaveUp(attempts: attempts))
        case .restart(let attempt, let delayMs):
            recordEvent(.restarting(attempt: attempt, delayMs: Int64(delayMs)))
            restartTimer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delayMs))) { [self] in
                restartTimer = nil
                guard self.status == .crashed, host.session(id) === self else { return }
                do throws(AmarreError) {
                    try start()
                    recordEvent(.restarted(attempt: attempt))
                    HostMetrics.restarts.increment()
                } catch {
                    logger.error("automatic restart failed", metadata: ["error": "\(error)"])
                    recordEvent(.restartFailed(attempt: attempt, detail: error.description))
                }
            }
        }
    }

    // MARK: clients

    /// Attaches a viewer: `amarre.hello`, then the records after `since` (if given), then live.
    func attach(_ client: ClientConnection, since: Int64?) {
        guard status == .running else {
            client.close(code: .unexpectedServerError, reason: "session is \(status.rawValue)")
            client.flush()
            return
        }
        clients.append(client)
        attention.attached(ObjectIdentifier(client))
        client.send(hello(readOnly: client.readOnly))
        client.start(at: lastSeq)
        if clientsPaused { client.setReading(false) }
        // A new viewer of a terminal gets the kept scrollback to draw its screen from (from the
        // store; without one there is nothing to redraw from, and no gap it did not ask about).
        let scrollback = since == nil && store != nil ? core.terminalScrollbackStart : nil
        if let scrollback, scrollback < lastSeq {
            client.beginCatchUp(after: max(0, scrollback), quietGaps: true)
        } else if let since, since < lastSeq {
            HostMetrics.replays.increment()
            if store != nil {
                client.beginCatchUp(after: max(0, since))
            } else {
                client.send(.replayGap(from: since + 1, to: lastSeq))
            }
        }
        client.flush()
    }

    /// Reads the log after `after` for a client that is catching up (a `since` replay, or a
    /// client that fell behind), one page at a time as its queue drains, until it reaches the
    /// end of the log; then it takes live records again. Everything runs on the event loop, so
    /// "the end of the log" cannot move between the check and the rejoin.
    func catchUp(_ client: ClientConnection, after: Int64) {
        guard let store else { return }
        let loop = eventLoop
        let bound = NIOLoopBound((self, client), eventLoop: loop)
        let upTo = lastSeq
        guard after < upTo else {
            client.rejoinLive(at: upTo)
            client.flush()
            return
        }
        // A page fits in the client's queue with room to spare: the next page is read only
        // once the queue has drained below half (`whenQueueLow`).
        let maxBytes = max(1, host.configuration.clientBufferBytes / 4)
        store.replay(id, after: after, upTo: upTo, limit: Session.replayPageSize, maxBytes: maxBytes) { result in
            loop.execute {
                let (session, client) = bound.value
                session.caughtUp(result, client: client, after: after)
            }
        }
    }

    private func caughtUp(_ result: Result<RecordPage, any Error>, client: ClientConnection, after: Int64) {
        guard client.catchingUp, !client.isClosing else { return }
        switch result {
        case .failure(let error):
            logger.error("reading the log for a client failed", metadata: ["error": "\(error)"])
            client.send(.error("replay_failed"))
            // What it misses is said, so it can ask the events route for it.
            if after < lastSeq {
                client.send(.replayGap(from: after + 1, to: lastSeq))
            }
            client.rejoinLive(at: lastSeq)
        case .success(let page):
            // Retention may have dropped what the client has not seen, or trims while a long
            // catch-up is going: say so, then go on from what is kept (not to a new terminal
            // viewer: it asked for no particular start).
            if after + 1 < page.firstKeptSeq, !client.quietGaps {
                client.send(.replayGap(from: after + 1, to: page.firstKeptSeq - 1))
            }
            client.caughtUp(page.records, through: page.lastSeq)
            // Where the client now is: past this page's records, or past the gap just notified
            // (retention moved beyond the page's end while it was being read).
            let reached = page.lastSeq ?? max(after, page.firstKeptSeq - 1)
            if reached >= lastSeq {
                client.rejoinLive(at: lastSeq)
            } else if reached > after {
                client.whenQueueLow { [self] in catchUp(client, after: reached) }
            } else {
                // Nothing after the cursor in the store although the log goes on (a session
                // being deleted): an honest gap, then live.
                client.send(.replayGap(from: reached + 1, to: lastSeq))
                client.rejoinLive(at: lastSeq)
            }
        }
        client.flush()
    }

    func detach(_ client: ClientConnection) {
        if let i = clients.firstIndex(where: { $0 === client }) { clients.remove(at: i) }
        attention.detached(ObjectIdentifier(client))
        core.clientLeft(ObjectIdentifier(client))
        checkOpenRequests()
    }

    private func hello(readOnly: Bool) -> ServerRecord {
        .hello(ServerRecord.HelloFields(
            sessionId: id.rawValue, instanceId: instance.id, agent: instance.agent.rawValue, status: status.rawValue,
            seq: lastSeq, capabilities: core.terminal == nil ? Session.capabilities : Session.capabilities + ["terminal"],
            terminal: core.terminal.map { ($0.size, readOnly) }))
    }

    private static let capabilities = [
        "seq", "replay", "events", "pending_requests", "request_resolved", "invalid_json_errors",
        "permission_first_answer_wins",
    ]

    /// A text message from a viewer: one JSON value, or one per line.
    func clientSent(_ message: ByteBuffer, from client: ClientConnection) {
        guard status == .running, let agent else { return }
        attention.sent(ObjectIdentifier(client), at: Session.nowMs())
        if let whole = message.withUnsafeReadableBytes({ JSONScanner.scan($0) }) {
            var line = message
            if whole.hasStructuralNewlines {
                // Pretty-printed JSON: its newlines are whitespace outside strings.
                line = ByteBuffer(bytes: message.readableBytesView.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 })
            }
            perform(
                core.clientSent(
                    Array(line.readableBytesView), summary: whole, client: ObjectIdentifier(client), readOnly: client.readOnly),
                from: client)
        } else {
            var rest = message
            var splitter = LineSplitter(maxRecordBytes: max(1, message.readableBytes))
            var invalid = 0
            let handle: (LineSplitter.Output) -> Void = { output in
                guard case .record(let line) = output else { return }
                if let summary = line.withUnsafeReadableBytes({ JSONScanner.scan($0) }) {
                    self.perform(
                        self.core.clientSent(
                            Array(line.readableBytesView), summary: summary, client: ObjectIdentifier(client),
                            readOnly: client.readOnly),
                        from: client)
                } else {
                    invalid += 1
                }
            }
            splitter.feed(&rest, emit: handle)
            splitter.finish(emit: handle)
            if invalid > 0 {
                client.send(
                    ServerRecord.error("invalid_json", detail: "frames must hold JSON values, one per line"))
            }
        }
        agent.flushStdin()
        if !agent.stdinWritable, !clientsPaused {
            clientsPaused = true
            for c in clients { c.setReading(false) }
        }
        flushClients()
    }

    /// `POST /sessions/<id>/requests/<requestId>`: the same ledger, adapter and stdin as an
    /// `extension_ui_response` from a WebSocket client.
    func answerRequest(_ requestID: String, _ answer: RequestAnswer) throws(AmarreError) {
        guard status == .running, let agent else { throw AmarreError(.notFound, detail: "the session is \(status.rawValue)") }
        perform(try core.answerRequest(requestID, answer))
        agent.flushStdin()
        flushClients()
    }

    /// `POST /sessions/<id>/prompt` and `…/abort`: a pi command written as a client's would be
    /// (through the adapter, if any). Returns the last sequence number before it: every record
    /// it causes comes after.
    func inject(_ line: String) throws(AmarreError) -> Int64 {
        guard status == .running, let agent else {
            throw AmarreError(.notRunning, detail: "the session is \(status.rawValue)")
        }
        let after = lastSeq
        perform(try core.inject(Array(line.utf8)))
        agent.flushStdin()
        flushClients()
        return after
    }

    /// The questions open now, oldest first, as they were published.
    var openRequestRecords: [String] {
        core.openRequestRecords.map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: notifications

    /// Sends the notifications that are due, unless somebody is looking.
    private func checkOpenRequests() {
        guard let push = host.push, !core.openRequests.isEmpty else { return }
        let now = Session.nowMs()
        guard !attention.isLooking(now: now) else {
            // A viewer without presence stops counting a grace after its last message: check again then.
            if let ends = attention.lookingEnds(now: now), core.hasDueRequests(now: now) {
                eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(max(1, ends - now))) { [self] in checkOpenRequests() }
            }
            return
        }
        for (requestID, request) in core.dueRequests(now: now) {
            guard !push.wasNotified(session: id, request: requestID) else { continue }
            push.markNotified(session: id, request: requestID)
            push.notify(
                push.texts.awaitingInput(
                    session: id.rawValue, name: name, requestId: requestID, title: request.title, message: request.message))
        }
    }

    /// After an event went to the Expo app: `{"type":"amarre.push_sent",…}` for the viewers.
    func pushSent(_ event: PushEvent, tokens: Int) {
        perform(core.publish(.pushSent(trigger: event.trigger.rawValue, tokens: tokens, requestId: event.requestId)))
        flushClients()
    }

    private func flushClients() {
        for c in clients { c.flush() }
    }
}

extension Session: AgentProcessDelegate {
    func agentWrote(_ output: LineSplitter.Output) {
        if readStarted == nil { readStarted = .now() }
        switch output {
        case .record(let line):
            // No separate UTF-8 pass: `publish` sends only what JSONScanner accepted (which
            // validates UTF-8) or wraps the line as `amarre.raw`, repairing bad bytes to U+FFFD.
            perform(line.withUnsafeReadableBytes { core.agentWrote($0) })
        case .oversized(let bytes):
            logger.warning(
                "agent record over the size limit dropped",
                metadata: ["record.bytes": "\(bytes)", "record.limit": "\(host.configuration.maxRecordBytes)"])
            perform(core.publish(.error("record_too_large", bytes: bytes, limit: host.configuration.maxRecordBytes)))
        }
    }

    func agentReadComplete() {
        agent?.flushStdin()
        flushClients()
        if let readStarted {
            // From the first record of this read to every client's socket write.
            HostMetrics.relayLatency.recordNanoseconds((NIODeadline.now() - readStarted).nanoseconds)
            self.readStarted = nil
        }
        let limit = host.configuration.storeBacklogBytes
        // An agent that has exited is read to its end, whatever the backlog (its pipe holds little).
        if let store, !outputPaused, !agentExitSeen, store.backlogBytes > limit {
            // The log is bounded in memory: the agent waits (its pipe fills) until the store's
            // writer has committed half of what it holds.
            outputPaused = true
            agent?.setReadingOutput(false)
            HostMetrics.agentReadsPaused.increment()
            logger.debug("agent output paused: the store is behind", metadata: ["store.backlog_bytes": "\(store.backlogBytes)"])
            let loop = eventLoop
            let bound = NIOLoopBound(self, eventLoop: loop)
            store.whenBacklog(below: max(1, limit / 2)) { loop.execute { bound.value.resumeOutput() } }
        }
    }

    private func resumeOutput() {
        guard outputPaused else { return }
        outputPaused = false
        agent?.setReadingOutput(true)
    }

    func agentWroteTerminal(_ bytes: ByteBuffer) {
        if readStarted == nil { readStarted = .now() }
        terminalPending += bytes.readableBytesView
        if terminalPending.count >= Session.terminalChunkBytes {
            publishTerminalOutput()
        } else if terminalFlush == nil {
            terminalFlush = eventLoop.assumeIsolated().scheduleTask(in: Session.terminalFlushDelay) { [self] in
                terminalFlush = nil
                publishTerminalOutput()
                flushClients()
            }
        }
    }

    /// Publishes what the terminal wrote since the last record, in bounded records.
    private func publishTerminalOutput() {
        terminalFlush?.cancel()
        terminalFlush = nil
        var start = 0
        while start < terminalPending.count {
            let end = min(terminalPending.count, start + Session.terminalChunkBytes)
            perform(core.terminalOutput(Array(terminalPending[start..<end])))
            start = end
        }
        terminalPending.removeAll(keepingCapacity: terminalPending.capacity <= Session.terminalChunkBytes)
    }

    func agentStdoutClosed() {
        // Every byte the program wrote is published before its end is reported.
        if !terminalPending.isEmpty {
            publishTerminalOutput()
            flushClients()
        }
        perform(core.stdoutClosed())
    }

    func agentExited(_ status: ExitStatus) {
        // What is left in the pipe (at most its capacity) is read even over the backlog, so
        // the crash is reported after every line, not after the drain deadline.
        agentExitSeen = true
        resumeOutput()
        perform(core.processExited(status))
    }

    func agentStdinWritabilityChanged(_ writable: Bool) {
        guard writable, clientsPaused else { return }
        clientsPaused = false
        for c in clients { c.setReading(true) }
    }
}
