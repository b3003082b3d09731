import AmarreCore

/// What an adapter asks the host to do with one input.
public struct AdapterOutput: Sendable, Equatable {
    /// Records for every client (and, with durable sessions, the log), one JSON text each.
    public var toClients: [[UInt8]]
    /// Lines for the agent's stdin, one JSON text each (the host adds the `\n`).
    public var toAgent: [[UInt8]]
    /// Ids of questions (`extension_ui_request`s) the agent took back: the host tells clients
    /// (`amarre.request_withdrawn`) and refuses late answers.
    public var withdrawn: [String]

    public init(toClients: [[UInt8]] = [], toAgent: [[UInt8]] = [], withdrawn: [String] = []) {
        self.toClients = toClients
        self.toAgent = toAgent
        self.withdrawn = withdrawn
    }
}

/// Translates between an agent's own protocol and the pi-shaped records clients speak.
///
/// Pure: no I/O, no clock of its own; the host feeds it complete lines and performs what it
/// returns, in order. One value per running agent process.
public protocol AgentAdapter: Sendable {
    /// Lines to write to the agent right after it is spawned (e.g. claude's `initialize`).
    mutating func started() -> AdapterOutput
    /// One complete line from the agent's stdout, without the newline.
    mutating func fromAgent(_ line: [UInt8]) -> AdapterOutput
    /// One JSON value a client sent (already validated), without the newline.
    mutating func fromClient(_ line: [UInt8]) -> AdapterOutput
    /// What the host must remember to resume this conversation after a restart (claude's
    /// `session_id`, pi's session file), once the agent has told it.
    var resumeToken: String? { get }
    /// What the next process of this session starts from (tools allowed for the session, the
    /// conversation's size); the host keeps it with the session.
    var carry: AdapterCarry { get }
}
