/// Lifecycle state of a session, as the protocol names it.
public enum SessionStatus: String, Sendable, Codable, Equatable {
    case running, crashed, stopped
}

/// The summary the REST plane returns. Absent fields are omitted, never null.
public struct SessionSummary: Sendable, Codable, Equatable {
    public var id: SessionID
    public var name: String?
    public var instanceId: String
    public var status: SessionStatus
    public var agent: String
    /// Milliseconds since the epoch of the last spawn.
    public var spawnedAt: Int64
    /// WebSocket clients attached now.
    public var clients: Int
    public var exitCode: Int32?
    public var signal: String?
    public var cwd: String?
    /// Milliseconds since the epoch of creation (stays when restarted).
    public var createdAt: Int64?
    /// Sequence number of the last record the agent wrote (durable sessions).
    public var lastSeq: Int64?
    /// Ids of `extension_ui_request`s that wait for an answer.
    public var pendingRequests: [String]?
    /// The git worktree the session runs in, when it was created in one.
    public var worktree: WorktreeInfo?

    public init(
        id: SessionID, name: String? = nil, instanceId: String, status: SessionStatus, agent: String,
        spawnedAt: Int64, clients: Int, exitCode: Int32? = nil, signal: String? = nil, cwd: String? = nil,
        createdAt: Int64? = nil, lastSeq: Int64? = nil, pendingRequests: [String]? = nil, worktree: WorktreeInfo? = nil
    ) {
        self.id = id
        self.name = name
        self.instanceId = instanceId
        self.status = status
        self.agent = agent
        self.spawnedAt = spawnedAt
        self.clients = clients
        self.exitCode = exitCode
        self.signal = signal
        self.cwd = cwd
        self.createdAt = createdAt
        self.lastSeq = lastSeq
        self.pendingRequests = pendingRequests
        self.worktree = worktree
    }
}

/// A session's git worktree: the repository, the branch checked out there, the commit the
/// branch was made from, and the worktree's directory (the session's cwd).
public struct WorktreeInfo: Sendable, Codable, Equatable {
    public var repo: String
    public var branch: String
    /// The base commit (a full sha).
    public var base: String
    public var path: String
    /// The base as it was asked for (a tag, a branch), when it was.
    public var baseRef: String?

    public init(repo: String, branch: String, base: String, path: String, baseRef: String? = nil) {
        self.repo = repo
        self.branch = branch
        self.base = base
        self.path = path
        self.baseRef = baseRef
    }
}
