public import AmarreCore

/// A session's registry row: what a restart needs to bring it back.
public struct StoredSession: Sendable, Equatable {
    public var id: SessionID
    public var name: String?
    public var instanceId: String
    public var cwd: String?
    public var env: [String: String]?
    public var status: SessionStatus
    public var exitCode: Int32?
    public var signal: String?
    public var createdAt: Int64
    public var spawnedAt: Int64
    /// Creation order: `GET /sessions` lists sessions by it.
    public var position: Int64
    /// What the agent needs to resume its conversation (claude session id, pi session file).
    public var resumeToken: String?
    /// Open `extension_ui_request` ids.
    public var pendingRequests: [String]
    /// Highest sequence number written (0: none).
    public var lastSeq: Int64
    /// Lowest sequence number still kept (retention); lastSeq + 1 when none is kept.
    public var firstSeq: Int64
    /// Sequence numbers up to this one may have been handed out (see `Session`): after an
    /// unclean stop, numbering goes on after it, never reusing a number a client has seen.
    public var seqReserved: Int64
    /// The git worktree the session runs in, if any.
    public var worktree: WorktreeInfo?
    /// What the session's agent adapter carries to its next process (JSON text, the host's format).
    public var agentState: String?

    public init(
        id: SessionID, name: String?, instanceId: String, cwd: String?, env: [String: String]?,
        status: SessionStatus, exitCode: Int32? = nil, signal: String? = nil, createdAt: Int64, spawnedAt: Int64,
        position: Int64, resumeToken: String? = nil, pendingRequests: [String] = [], lastSeq: Int64 = 0,
        firstSeq: Int64 = 1, seqReserved: Int64 = 0, worktree: WorktreeInfo? = nil,
        agentState: String? = nil
    ) {
        self.agentState = agentState
        self.id = id
        self.name = name
        self.instanceId = instanceId
        self.cwd = cwd
        self.env = env
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
        self.createdAt = createdAt
        self.spawnedAt = spawnedAt
        self.position = position
        self.resumeToken = resumeToken
        self.pendingRequests = pendingRequests
        self.lastSeq = lastSeq
        self.firstSeq = firstSeq
        self.seqReserved = seqReserved
        self.worktree = worktree
    }
}

/// Per-session caps on what the store keeps; the oldest records go first.
public struct Retention: Sendable, Equatable {
    /// `AMARRE_RETAIN_RECORDS` (default 100,000).
    public var records: Int
    /// `AMARRE_RETAIN_BYTES` (default 256 MiB).
    public var bytes: Int

    public init(records: Int = 100_000, bytes: Int = 256 << 20) {
        self.records = records
        self.bytes = bytes
    }
}

/// One page of stored records, in sequence order.
public struct RecordPage: Sendable {
    /// Each record's JSON text, `_seq` included.
    public var records: [[UInt8]]
    /// Sequence number of the last record in `records`.
    public var lastSeq: Int64?
    /// Lowest sequence number the store still keeps for the session.
    public var firstKeptSeq: Int64

    public init(records: [[UInt8]], lastSeq: Int64?, firstKeptSeq: Int64) {
        self.records = records
        self.lastSeq = lastSeq
        self.firstKeptSeq = firstKeptSeq
    }
}
