public import AmarreAgents
public import AmarreCore
public import AmarreJSON
import Foundation

/// The session's logic without I/O: sequence numbers and their reservation, framing of
/// records, the permission ledger and the questions open now, adapter dispatch, and the
/// agent's lifecycle and restart budget.
///
/// The host's `Session` is its driver (swift-nio's pattern: a state machine beside its
/// handler): it feeds in what happened — a line the agent wrote, a value a client sent, the
/// process exiting — and performs the returned `Effect`s in order: saving the session's row,
/// appending to the log, sending to clients, writing to the agent, arming timers, sending
/// notifications. Effects are returned, never performed from inside, so the driver can never
/// re-enter the core while it is mutating.
public struct SessionCore: Sendable {
    /// Sequence numbers are reserved in the store in blocks, ahead of use: records reach
    /// clients before they are committed, so after a SIGKILL numbering resumes after the
    /// reservation instead of reusing numbers clients have seen.
    public static let seqReservationBlock: Int64 = 100_000

    /// What the driver does, in order.
    public enum Effect: Sendable, Equatable {
        /// Save the session's row. `waitForCommit`: it carries a reservation that the next
        /// record's number needs, so it must be committed before that record reaches a client.
        case saveSession(waitForCommit: Bool)
        /// Append a sequenced record to the log (`type`: its `type` member, for the index).
        case append(seq: Int64, record: [UInt8], type: String?)
        /// Send a sequenced record to every client.
        case broadcast(seq: Int64, record: [UInt8])
        /// A question was opened: its notification is due at `dueAt` (ms).
        case requestOpened(id: String, dueAt: Int64)
        /// The agent finished a run (`agent_end`).
        case runEnded
        /// One line for the agent's stdin (the driver adds the newline).
        case writeAgent([UInt8])
        /// For the client whose value this is, only.
        case reply(ServerRecord)
        /// A viewer's `amarre.presence` frame.
        case presence(visible: Bool)
        /// What the agent's lifecycle asks for (signals, timers, the crash report, the end).
        case lifecycle(AgentLifecycle.Action)
        /// Bytes for a `terminal` agent's terminal, as typed.
        case writeTerminal([UInt8])
        /// Set the terminal's size.
        case resizeTerminal(ServerRecord.TerminalSize)
    }

    /// A viewer, as the driver names it (the core keeps each one's wanted terminal size).
    public typealias ClientKey = ObjectIdentifier

    /// A `terminal` session's state: the program's size, who typed last, the sizes viewers
    /// asked for, and which output records form the scrollback a new viewer is sent.
    public struct TerminalState: Sendable {
        public internal(set) var size = ServerRecord.TerminalSize(cols: 80, rows: 24)
        /// The viewer that typed last: the size follows it (tmux's "latest").
        public internal(set) var typist: ClientKey?
        var wanted: [ClientKey: ServerRecord.TerminalSize] = [:]
        /// `(seq, raw bytes)` of the output records kept for new viewers, oldest first.
        var kept: [(seq: Int64, bytes: Int)] = []
        var keptHead = 0
        var keptBytes = 0
        let scrollbackBytes: Int
    }

    /// Most output records kept for new viewers, however small (a spinner writes many): well
    /// below the store's default retention of 100,000 records.
    public static let maxScrollbackRecords = 10_000
    /// Largest `terminal.input` taken, decoded bytes.
    public static let maxTerminalInputBytes = 64 << 10
    /// Largest side of a terminal a client may ask for.
    public static let maxTerminalSide = 1000

    /// A question the agent asked that is still open.
    public struct OpenRequest: Sendable, Equatable {
        /// The request's `id` as the agent wrote it (a string literal or a number), for answers.
        public var idJSON: String
        public var title: String?
        public var message: String?
        /// The request as published (`_seq` included), for `GET /sessions/<id>/requests`.
        public var record: [UInt8]
        public var seq: Int64
        /// When its notification is due (asked + the push grace), ms since the epoch.
        public var dueAt: Int64
        public var notified = false
    }

    /// Sequence number of the last record published.
    public private(set) var lastSeq: Int64
    /// The highest number a committed (or committing) reservation covers.
    public private(set) var seqReserved: Int64
    public private(set) var resumeToken: String?
    /// What the adapter hands to the session's next agent process.
    public private(set) var carry: AdapterCarry
    public private(set) var ledger = PermissionLedger()
    public private(set) var lifecycle = AgentLifecycle()
    public private(set) var restartBudget: RestartBudget?
    public private(set) var openRequests: [String: OpenRequest] = [:]
    /// Deleted: nothing more is stored for it, whatever the dying agent still writes.
    public private(set) var deleted = false
    /// An agent process is there to write to (running or stopping).
    public private(set) var hasAgent = false
    private var adapter: (any AgentAdapter)?
    /// Set for a `terminal` session.
    public private(set) var terminal: TerminalState?
    /// How long after a question is asked its notification is due, ms.
    private let notificationGraceMs: Int64
    /// Wall-clock time, ms since the epoch (tests give their own).
    private let clock: @Sendable () -> Int64

    /// The real wall clock.
    public static let wallClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    /// A new session (`lastSeq` 0), or one restored from its row: after an unclean stop,
    /// numbers up to the reservation may have been seen, so they are skipped.
    public init(
        lastSeq: Int64 = 0, seqReserved: Int64 = 0, resumeToken: String? = nil, carry: AdapterCarry = AdapterCarry(),
        restartPolicy: RestartPolicy? = nil, restartBaseDelayMs: Int = 1000, notificationGraceMs: Int64 = 0,
        clock: @escaping @Sendable () -> Int64 = SessionCore.wallClock, terminalScrollbackBytes: Int? = nil
    ) {
        self.clock = clock
        self.terminal = terminalScrollbackBytes.map { TerminalState(scrollbackBytes: max(1, $0)) }
        self.lastSeq = max(lastSeq, seqReserved)
        self.seqReserved = seqReserved
        self.resumeToken = resumeToken
        self.carry = carry
        self.restartBudget = restartPolicy.map { RestartBudget(policy: $0, baseDelayMs: restartBaseDelayMs) }
        self.notificationGraceMs = notificationGraceMs
    }

    // MARK: the agent process

    /// A new agent process was spawned with `adapter` (nil: records pass through as written).
    public mutating func agentStarted(adapter: (any AgentAdapter)?) -> [Effect] {
        lifecycle = AgentLifecycle()
        ledger = PermissionLedger()
        openRequests.removeAll()
        hasAgent = true
        self.adapter = adapter
        var effects = [Effect]()
        if var a = self.adapter {
            let out = a.started()
            self.adapter = a
            apply(out, into: &effects)
        }
        return effects
    }

    /// One complete line the agent wrote (through its adapter, if any).
    public mutating func agentWrote(_ line: [UInt8]) -> [Effect] {
        var effects = [Effect]()
        if var a = adapter {
            let out = a.fromAgent(line)
            adapter = a
            apply(out, into: &effects)
        } else {
            line.withUnsafeBytes { publish(object: $0, summary: JSONScanner.scan($0), fromAgent: true, into: &effects) }
        }
        return effects
    }

    /// The same, for a line the driver holds as raw bytes (no copy when there is no adapter).
    public mutating func agentWrote(_ line: UnsafeRawBufferPointer) -> [Effect] {
        if adapter != nil { return agentWrote(Array(line)) }
        var effects = [Effect]()
        publish(object: line, summary: JSONScanner.scan(line), fromAgent: true, into: &effects)
        return effects
    }

    public mutating func stopRequested() -> [Effect] { [.lifecycle(lifecycle.stopRequested())] }
    public mutating func graceExpired() -> [Effect] { [.lifecycle(lifecycle.graceExpired())] }
    public mutating func drainDeadlinePassed() -> [Effect] { [.lifecycle(lifecycle.drainDeadlinePassed())] }
    public mutating func stdoutClosed() -> [Effect] { [.lifecycle(lifecycle.stdoutClosed())] }
    public mutating func processExited(_ status: ExitStatus) -> [Effect] { [.lifecycle(lifecycle.processExited(status))] }

    /// The process crashed (its crash is being reported): nothing is pending, no adapter.
    public mutating func agentCrashed() {
        ledger.reset()
        openRequests.removeAll()
        hasAgent = false
        adapter = nil
    }

    /// The stopped process is gone.
    public mutating func agentGone() {
        hasAgent = false
    }

    /// What to do after a crash, by the restart policy (`.none` without one).
    public mutating func restartDecision(after status: ExitStatus, nowMs: Int64) -> RestartBudget.Decision {
        guard var budget = restartBudget else { return .none }
        let decision = budget.crashed(status, nowMs: nowMs)
        restartBudget = budget
        return decision
    }

    /// Viewers are gone for good (stop, archive): no question stays open.
    public mutating func closeAllRequests() {
        ledger.reset()
        openRequests.removeAll()
    }

    /// From now on nothing is stored (the session is being deleted).
    public mutating func markDeleted() {
        deleted = true
    }

    /// A clean stop of the host: every number handed out is committed with the records, so
    /// none needs skipping next time.
    public mutating func releaseReservation() {
        seqReserved = lastSeq
    }

    // MARK: clients

    /// One JSON value a client sent (already validated, one line). `client` and `readOnly`
    /// matter to a `terminal` session.
    public mutating func clientSent(
        _ line: [UInt8], summary: JSONScanner.Summary, client: ClientKey? = nil, readOnly: Bool = false
    ) -> [Effect] {
        var effects = [Effect]()
        if let type = summary.type, type.hasPrefix("amarre.") {
            // The server's own frames: consumed here, never the agent's business.
            if type == "amarre.presence", let visible = JSONValue.parse(line)?["visible"]?.boolValue {
                effects.append(.presence(visible: visible))
            }
            return effects
        }
        if terminal != nil {
            terminalFrame(line, type: summary.type, client: client, readOnly: readOnly, into: &effects)
            return effects
        }
        if summary.type == "extension_ui_response", let answerID = summary.id {
            guard answered(answerID, with: line, into: &effects) else {
                effects.append(.reply(.error("already_answered", detail: "another client answered this request first", id: answerID)))
                return effects
            }
        }
        toAgent(line, into: &effects)
        return effects
    }

    /// `POST /sessions/<id>/requests/<requestId>`: the same ledger and adapter as an
    /// `extension_ui_response` from a WebSocket client.
    public mutating func answerRequest(_ requestID: String, _ answer: RequestAnswer) throws(AmarreError) -> [Effect] {
        switch ledger.state(of: requestID) {
        case .unknown: throw AmarreError(.notFound, detail: "no open request \(requestID)")
        case .answered: throw AmarreError(.alreadyAnswered, detail: "this request was answered or withdrawn already")
        case .pending: break
        }
        let idJSON = openRequests[requestID]?.idJSON ?? JSONText.quote(requestID)
        let line = Array((#"{"type":"extension_ui_response","id":"# + idJSON + "," + answer.jsonMembers + "}").utf8)
        var effects = [Effect]()
        guard answered(requestID, with: line, into: &effects) else { throw AmarreError(.alreadyAnswered) }
        toAgent(line, into: &effects)
        return effects
    }

    /// A command written for the agent as a client's would be (REST prompt and abort).
    public mutating func inject(_ line: [UInt8]) throws(AmarreError) -> [Effect] {
        guard terminal == nil else {
            throw AmarreError.badRequest("a terminal session takes terminal.input frames, not prompts")
        }
        var effects = [Effect]()
        toAgent(line, into: &effects)
        return effects
    }

    /// Publishes a server record (`amarre.*`).
    public mutating func publish(_ record: ServerRecord) -> [Effect] {
        var effects = [Effect]()
        publish(record, into: &effects)
        return effects
    }

    /// The questions whose notification is due at `now` and not sent yet, marked as sent.
    public mutating func dueRequests(now: Int64) -> [(id: String, request: OpenRequest)] {
        var due = [(id: String, request: OpenRequest)]()
        for (requestID, request) in openRequests where !request.notified && request.dueAt <= now {
            openRequests[requestID]?.notified = true
            if ledger.state(of: requestID) == .pending { due.append((requestID, request)) }
        }
        return due
    }

    /// Whether a question's notification is due at `now` and not sent yet.
    public func hasDueRequests(now: Int64) -> Bool {
        openRequests.values.contains { !$0.notified && $0.dueAt <= now }
    }

    /// The questions open now, oldest first, as they were published.
    public var openRequestRecords: [[UInt8]] {
        openRequests.values.sorted { $0.seq < $1.seq }.map(\.record)
    }

    // MARK: - Terminal sessions

    /// What a `terminal` program wrote: one `terminal.output` record (the driver coalesces and
    /// bounds the chunks), kept for new viewers within the scrollback.
    public mutating func terminalOutput(_ bytes: [UInt8]) -> [Effect] {
        guard !bytes.isEmpty else { return [] }
        var effects = [Effect]()
        publish(.terminalOutput(base64: Base64.encode(bytes)), into: &effects)
        if var state = terminal {
            state.kept.append((lastSeq, bytes.count))
            state.keptBytes += bytes.count
            // The newest record always stays, however large.
            while state.keptBytes > state.scrollbackBytes || state.kept.count - state.keptHead > SessionCore.maxScrollbackRecords,
                state.kept.count - state.keptHead > 1
            {
                state.keptBytes -= state.kept[state.keptHead].bytes
                state.keptHead += 1
            }
            if state.keptHead > 1024, state.keptHead * 2 > state.kept.count {
                state.kept.removeFirst(state.keptHead)
                state.keptHead = 0
            }
            terminal = state
        }
        return effects
    }

    /// Where a new viewer of a `terminal` session starts reading the log: after this number
    /// it gets the kept scrollback (nil: not a terminal session).
    public var terminalScrollbackStart: Int64? {
        guard let state = terminal else { return nil }
        guard state.keptHead < state.kept.count else { return lastSeq }
        return state.kept[state.keptHead].seq - 1
    }

    /// A viewer went away: its wanted size is forgotten; if it typed last, nobody did.
    public mutating func clientLeft(_ client: ClientKey) {
        guard var state = terminal else { return }
        state.wanted[client] = nil
        if state.typist == client { state.typist = nil }
        terminal = state
    }

    private mutating func terminalFrame(
        _ line: [UInt8], type: String?, client: ClientKey?, readOnly: Bool, into effects: inout [Effect]
    ) {
        switch type {
        case "terminal.input":
            guard !readOnly else {
                effects.append(.reply(.error("read_only", detail: "this client is attached read-only")))
                return
            }
            guard let text = JSONValue.parse(line)?["data"]?.stringValue, let bytes = Base64.decode(text) else {
                effects.append(.reply(.error("invalid_input", detail: "terminal.input needs \"data\": base64 text")))
                return
            }
            guard bytes.count <= SessionCore.maxTerminalInputBytes else {
                effects.append(
                    .reply(.error("input_too_large", bytes: bytes.count, limit: SessionCore.maxTerminalInputBytes)))
                return
            }
            if let client, terminal?.typist != client {
                terminal?.typist = client
                if let wanted = terminal?.wanted[client] { resize(to: wanted, into: &effects) }
            }
            if hasAgent, !bytes.isEmpty { effects.append(.writeTerminal(bytes)) }
        case "terminal.resize":
            // A read-only viewer watches at the size the others set.
            guard !readOnly else { return }
            let value = JSONValue.parse(line)
            guard let cols = value?["cols"]?.intValue, let rows = value?["rows"]?.intValue,
                (1...SessionCore.maxTerminalSide).contains(cols), (1...SessionCore.maxTerminalSide).contains(rows)
            else {
                effects.append(
                    .reply(.error("invalid_size", detail: "cols and rows must be 1 to \(SessionCore.maxTerminalSide)")))
                return
            }
            let size = ServerRecord.TerminalSize(cols: cols, rows: rows)
            if let client { terminal?.wanted[client] = size }
            if terminal?.typist == nil || terminal?.typist == client { resize(to: size, into: &effects) }
        default:
            effects.append(
                .reply(.error("unsupported", detail: "a terminal session takes terminal.input and terminal.resize")))
        }
    }

    private mutating func resize(to size: ServerRecord.TerminalSize, into effects: inout [Effect]) {
        guard terminal != nil, terminal?.size != size else { return }
        terminal?.size = size
        if hasAgent { effects.append(.resizeTerminal(size)) }
        publish(.terminalSize(size), into: &effects)
    }

    // MARK: - Records

    private mutating func publish(_ record: ServerRecord, into effects: inout [Effect]) {
        var text = record.json
        text.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            publish(object: raw, summary: JSONScanner.scan(raw), fromAgent: false, into: &effects)
        }
    }

    /// Sequences, stores and fans out one record. Agent records that are not JSON objects,
    /// or that claim a server type (`amarre.*`), are wrapped as `amarre.raw`; an agent's own
    /// top-level `_` members are dropped (they are reserved for the server).
    private mutating func publish(
        object bytes: UnsafeRawBufferPointer, summary: JSONScanner.Summary?, fromAgent: Bool, into effects: inout [Effect]
    ) {
        lastSeq += 1
        let seq = lastSeq
        if seq > seqReserved - SessionCore.seqReservationBlock / 2 {
            // A number no committed reservation covers (a new session, the first record after a
            // restart) must not reach a client before its reservation is in the database, or a
            // SIGKILL could hand it out again: that save waits for the commit. Approaching the
            // end of a reservation, the next one is written ahead, without waiting.
            let uncovered = seq > seqReserved
            seqReserved = seq + SessionCore.seqReservationBlock
            save(waitForCommit: uncovered, into: &effects)
        }
        var framed: [UInt8]?
        if let summary, summary.isObject, !(fromAgent && summary.type?.hasPrefix("amarre.") == true) {
            framed =
                fromAgent && summary.hasReservedMembers
                ? SequencedRecord.injectDroppingReserved(seq: seq, into: bytes)
                : SequencedRecord.inject(seq: seq, into: bytes)
        }
        let record = framed ?? SequencedRecord.wrapRaw(seq: seq, line: String(decoding: bytes, as: UTF8.self))
        if let framed, let summary, summary.type == "extension_ui_request",
            ledger.agentWrote(type: summary.type, id: summary.id, method: summary.method), let requestID = summary.id
        {
            save(waitForCommit: false, into: &effects)
            opened(requestID, raw: bytes, published: framed, seq: seq, into: &effects)
        }
        if !deleted { effects.append(.append(seq: seq, record: record, type: framed != nil ? summary?.type : nil)) }
        effects.append(.broadcast(seq: seq, record: record))
        if fromAgent, framed != nil, summary?.type == "agent_end" {
            if !ledger.pending.isEmpty {
                // A question cannot outlive its run (an abort, or claude's control_cancel_request).
                for withdrawn in ledger.withdrawAll() {
                    openRequests[withdrawn] = nil
                    publish(.requestWithdrawn(id: withdrawn), into: &effects)
                }
                save(waitForCommit: false, into: &effects)
            }
            effects.append(.runEnded)
        }
    }

    private mutating func opened(
        _ requestID: String, raw: UnsafeRawBufferPointer, published: [UInt8], seq: Int64, into effects: inout [Effect]
    ) {
        let value = JSONValue.parse(Array(raw))
        let idJSON = value?["id"].map { $0.stringValue == nil ? $0.jsonText : JSONText.quote(requestID) } ?? JSONText.quote(requestID)
        let dueAt = clock() + notificationGraceMs
        openRequests[requestID] = OpenRequest(
            idJSON: idJSON, title: value?["title"]?.stringValue, message: value?["message"]?.stringValue,
            record: published, seq: seq, dueAt: dueAt)
        effects.append(.requestOpened(id: requestID, dueAt: dueAt))
    }

    /// The ledger's verdict on an answer; when it wins, every client is told. False: another
    /// answer came first.
    private mutating func answered(_ requestID: String, with line: [UInt8], into effects: inout [Effect]) -> Bool {
        switch ledger.clientAnswered(id: requestID) {
        case .alreadyAnswered:
            return false
        case .forward:
            openRequests[requestID] = nil
            publish(.requestResolved(id: requestID, responseJSON: String(decoding: line, as: UTF8.self)), into: &effects)
            save(waitForCommit: false, into: &effects)
            return true
        }
    }

    /// A client's value (or an answer made for one) goes to the adapter, else straight to stdin.
    private mutating func toAgent(_ line: [UInt8], into effects: inout [Effect]) {
        if var a = adapter {
            let out = a.fromClient(line)
            adapter = a
            apply(out, into: &effects)
            return
        }
        if hasAgent { effects.append(.writeAgent(line)) }
    }

    /// What the adapter asked for.
    private mutating func apply(_ out: AdapterOutput, into effects: inout [Effect]) {
        for record in out.toClients {
            record.withUnsafeBytes { publish(object: $0, summary: JSONScanner.scan($0), fromAgent: true, into: &effects) }
        }
        for id in out.withdrawn where ledger.withdraw(id) {
            openRequests[id] = nil
            publish(.requestWithdrawn(id: id), into: &effects)
            save(waitForCommit: false, into: &effects)
        }
        if hasAgent {
            for line in out.toAgent { effects.append(.writeAgent(line)) }
        }
        var changed = false
        if let token = adapter?.resumeToken, token != resumeToken {
            resumeToken = token
            changed = true
        }
        if let next = adapter?.carry {
            // A change of grants is saved now; the conversation's size alone with the next save.
            if next.allowedTools != carry.allowedTools { changed = true }
            carry = next
        }
        if changed { save(waitForCommit: false, into: &effects) }
    }

    private func save(waitForCommit: Bool, into effects: inout [Effect]) {
        guard !deleted else { return }
        effects.append(.saveSession(waitForCommit: waitForCommit))
    }
}

/// RFC 4648 base64, standard alphabet with padding, for terminal bytes.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Nil unless `text` is well-formed base64 (whitespace not allowed).
    static func decode(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text).map { Array($0) }
    }
}
