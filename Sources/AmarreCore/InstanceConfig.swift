/// One configured agent instance: what `POST /sessions` can spawn.
public struct InstanceConfig: Sendable, Codable, Equatable {
    public var id: String
    public var agent: AgentKind
    /// Added to the server environment, below a session's own `env`.
    public var env: [String: String]
    /// argv for `command` instances; for others an optional override of the binary and
    /// its fixed arguments.
    public var command: [String]?
    /// Extra arguments appended after the agent's own (pi, claude-code).
    public var args: [String]?
    /// Model name passed to the agent (pi `--model`, claude `--model`).
    public var model: String?
    /// claude-code: pass claude's native stream-json through instead of translating it.
    public var raw: Bool?
    /// pi: tools that run without asking (e.g. read-only ones: `["read","grep","find","ls"]`).
    public var allowTools: [String]?
    /// Automatic restart after a crash; nil: never.
    public var restart: RestartPolicy?
    /// Variables a session's `env` may set although they are on the deny-list
    /// (`SessionEnvironmentPolicy`), e.g. `["LD_LIBRARY_PATH"]`.
    public var allowSessionEnv: [String]?
    /// Where this instance's worktree sessions get their worktrees (default `AMARRE_WORKTREE_ROOT`).
    public var worktreeRoot: String?
    /// The only repositories worktree sessions of this instance may use (absolute paths).
    public var repos: [String]?
    /// claude-code: the models clients may switch to (`get_available_models`); nil: claude's own list.
    public var models: [String]?
    /// claude-code: clients may choose the `bypassPermissions` mode (after a confirmation).
    public var allowBypass: Bool?

    public init(
        id: String, agent: AgentKind, env: [String: String] = [:], command: [String]? = nil,
        args: [String]? = nil, model: String? = nil
    ) {
        self.id = id
        self.agent = agent
        self.env = env
        self.command = command
        self.args = args
        self.model = model
    }

    enum CodingKeys: String, CodingKey { case id, agent, env, command, args, model, raw, allowTools, restart, allowSessionEnv, worktreeRoot, repos, models, allowBypass }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        agent = try c.decode(AgentKind.self, forKey: .agent)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        command = try c.decodeIfPresent([String].self, forKey: .command)
        args = try c.decodeIfPresent([String].self, forKey: .args)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        raw = try c.decodeIfPresent(Bool.self, forKey: .raw)
        allowTools = try c.decodeIfPresent([String].self, forKey: .allowTools)
        restart = try c.decodeIfPresent(RestartPolicy.self, forKey: .restart)
        allowSessionEnv = try c.decodeIfPresent([String].self, forKey: .allowSessionEnv)
        worktreeRoot = try c.decodeIfPresent(String.self, forKey: .worktreeRoot)
        repos = try c.decodeIfPresent([String].self, forKey: .repos)
        models = try c.decodeIfPresent([String].self, forKey: .models)
        allowBypass = try c.decodeIfPresent(Bool.self, forKey: .allowBypass)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(agent, forKey: .agent)
        if !env.isEmpty { try c.encode(env, forKey: .env) }
        try c.encodeIfPresent(command, forKey: .command)
        try c.encodeIfPresent(args, forKey: .args)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(raw, forKey: .raw)
        try c.encodeIfPresent(allowTools, forKey: .allowTools)
        try c.encodeIfPresent(restart, forKey: .restart)
        try c.encodeIfPresent(allowSessionEnv, forKey: .allowSessionEnv)
        try c.encodeIfPresent(worktreeRoot, forKey: .worktreeRoot)
        try c.encodeIfPresent(repos, forKey: .repos)
        try c.encodeIfPresent(models, forKey: .models)
        try c.encodeIfPresent(allowBypass, forKey: .allowBypass)
    }
}

/// `"restart":{"policy":"on-failure","max":3,"windowSeconds":60}`: after a crash, restart
/// with backoff, at most `max` times within `windowSeconds`, then stay crashed.
public struct RestartPolicy: Sendable, Codable, Equatable {
    public enum Policy: String, Sendable, Codable { case never, onFailure = "on-failure", always }
    public var policy: Policy
    public var max: Int
    public var windowSeconds: Int

    public init(policy: Policy, max: Int = 3, windowSeconds: Int = 60) {
        self.policy = policy
        self.max = max
        self.windowSeconds = windowSeconds
    }

    enum CodingKeys: String, CodingKey { case policy, max, windowSeconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        policy = try c.decode(Policy.self, forKey: .policy)
        max = try c.decodeIfPresent(Int.self, forKey: .max) ?? 3
        windowSeconds = try c.decodeIfPresent(Int.self, forKey: .windowSeconds) ?? 60
    }
}

/// What `GET /instances` lists.
public struct InstanceInfo: Sendable, Codable, Equatable {
    public var id: String
    public var agent: String
    public init(id: String, agent: String) {
        self.id = id
        self.agent = agent
    }
}
