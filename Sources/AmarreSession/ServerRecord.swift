public import AmarreCore
import AmarreJSON
/// The server's own records (`amarre.*`), typed, with one encoder: every one the host writes
/// is made here, so their shapes are in one place (SPEC §4, "Server records").
public enum ServerRecord: Sendable, Equatable {
    case hello(HelloFields)
    /// Records `from...to` cannot be replayed (retention, no store, a failed read).
    case replayGap(from: Int64, to: Int64)
    /// A notice: `invalid_json`, `binary_frame`, `already_answered` (with `id`), `replay_failed`,
    /// `record_too_large` (with `bytes` and `limit`).
    case error(String, detail: String? = nil, id: String? = nil, bytes: Int? = nil, limit: Int? = nil)
    /// The first answer to a question; `response` is the answer's JSON text as the client sent it.
    case requestResolved(id: String, responseJSON: String)
    case requestWithdrawn(id: String)
    case sessionEvent(SessionEvent)
    case pushSent(trigger: String, tokens: Int, requestId: String?)
    /// A terminal session's output: `{"type":"terminal.output","data":"<base64>"}`.
    case terminalOutput(base64: String)
    /// A terminal session's size changed: `{"type":"terminal.size","cols":C,"rows":R}`.
    case terminalSize(TerminalSize)

    /// Columns and rows of a terminal.
    public struct TerminalSize: Sendable, Equatable {
        public var cols: Int
        public var rows: Int
        public init(cols: Int, rows: Int) {
            self.cols = cols
            self.rows = rows
        }
    }

    public struct HelloFields: Sendable, Equatable {
        public var sessionId: String
        public var instanceId: String
        public var agent: String
        public var status: String
        public var seq: Int64
        public var capabilities: [String]
        /// A terminal session's current size, and whether this client is read-only.
        public var terminal: (size: TerminalSize, readOnly: Bool)?

        public init(
            sessionId: String, instanceId: String, agent: String, status: String, seq: Int64, capabilities: [String],
            terminal: (size: TerminalSize, readOnly: Bool)? = nil
        ) {
            self.sessionId = sessionId
            self.instanceId = instanceId
            self.agent = agent
            self.status = status
            self.seq = seq
            self.capabilities = capabilities
            self.terminal = terminal
        }

        public static func == (a: HelloFields, b: HelloFields) -> Bool {
            a.sessionId == b.sessionId && a.instanceId == b.instanceId && a.agent == b.agent && a.status == b.status
                && a.seq == b.seq && a.capabilities == b.capabilities && a.terminal?.size == b.terminal?.size
                && a.terminal?.readOnly == b.terminal?.readOnly
        }
    }

    /// `amarre.session_event` and its members.
    public enum SessionEvent: Sendable, Equatable {
        case crashed(exitCode: Int32?, signal: String?)
        case restored
        case restoreFailed(detail: String)
        case restarting(attempt: Int, delayMs: Int64)
        case restarted(attempt: Int)
        case restartedByRequest
        case restartFailed(attempt: Int, detail: String)
        case gaveUp(attempts: Int)
        case renamed(name: String?)
    }

    /// The record's JSON text (without `_seq`: the host's sequencing adds it to stored ones).
    public var json: String {
        switch self {
        case .hello(let h):
            var members = [
                ("protocol", JSONText.quote(ControlProtocol.version)), ("sessionId", JSONText.quote(h.sessionId)),
                ("instanceId", JSONText.quote(h.instanceId)), ("agent", JSONText.quote(h.agent)),
                ("status", JSONText.quote(h.status)), ("seq", String(h.seq)),
                ("capabilities", "[" + h.capabilities.map(JSONText.quote).joined(separator: ",") + "]"),
            ]
            if let terminal = h.terminal {
                members.append((
                    "terminal",
                    "{\"cols\":\(terminal.size.cols),\"rows\":\(terminal.size.rows),\"readonly\":\(terminal.readOnly)}"
                ))
            }
            return object("amarre.hello", members)
        case .replayGap(let from, let to):
            return object("amarre.replay_gap", [("from", String(from)), ("to", String(to))])
        case .error(let code, let detail, let id, let bytes, let limit):
            var members = [("error", JSONText.quote(code))]
            if let id { members.append(("id", JSONText.quote(id))) }
            if let bytes { members.append(("bytes", String(bytes))) }
            if let limit { members.append(("limit", String(limit))) }
            if let detail { members.append(("detail", JSONText.quote(detail))) }
            return object("amarre.error", members)
        case .requestResolved(let id, let responseJSON):
            return object("amarre.request_resolved", [("id", JSONText.quote(id)), ("response", responseJSON)])
        case .requestWithdrawn(let id):
            return object("amarre.request_withdrawn", [("id", JSONText.quote(id))])
        case .pushSent(let trigger, let tokens, let requestId):
            var members = [("trigger", JSONText.quote(trigger)), ("tokens", String(tokens))]
            if let requestId { members.append(("requestId", JSONText.quote(requestId))) }
            return object("amarre.push_sent", members)
        case .sessionEvent(let event):
            return object("amarre.session_event", Self.members(of: event))
        case .terminalOutput(let base64):
            // Base64's alphabet needs no escaping.
            return object("terminal.output", [("data", "\"" + base64 + "\"")])
        case .terminalSize(let size):
            return object("terminal.size", [("cols", String(size.cols)), ("rows", String(size.rows))])
        }
    }

    private static func members(of event: SessionEvent) -> [(String, String)] {
        switch event {
        case .crashed(let exitCode, let signal):
            return [("event", "\"crashed\""), ("exitCode", exitCode.map { String($0) } ?? "null"),
                    ("signal", signal.map(JSONText.quote) ?? "null")]
        case .restored: return [("event", "\"restored\"")]
        case .restoreFailed(let detail): return [("event", "\"restore_failed\""), ("detail", JSONText.quote(detail))]
        case .restarting(let attempt, let delayMs):
            return [("event", "\"restarting\""), ("attempt", String(attempt)), ("delayMs", String(delayMs))]
        case .restarted(let attempt): return [("event", "\"restarted\""), ("attempt", String(attempt))]
        case .restartedByRequest: return [("event", "\"restarted\""), ("by", "\"request\"")]
        case .restartFailed(let attempt, let detail):
            return [("event", "\"restart_failed\""), ("attempt", String(attempt)), ("detail", JSONText.quote(detail))]
        case .gaveUp(let attempts): return [("event", "\"gave_up\""), ("attempts", String(attempts))]
        case .renamed(let name): return [("event", "\"renamed\""), ("name", name.map(JSONText.quote) ?? "null")]
        }
    }

    private func object(_ type: String, _ members: [(String, String)]) -> String {
        "{\"type\":" + JSONText.quote(type) + members.map { "," + JSONText.quote($0.0) + ":" + $0.1 }.joined() + "}"
    }
}
