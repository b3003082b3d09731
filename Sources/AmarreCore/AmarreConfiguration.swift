import Foundation

/// Settings shared by amarre-api and amarre-host, read from the environment.
///
/// Each field documents its variable and default; tests build the struct directly.
public struct AmarreConfiguration: Sendable, Equatable {
    /// `AMARRE_PORT`: nginx listen port (default 8341).
    public var port: Int = 8341
    /// `AMARRE_HOST`: nginx listen address (default 127.0.0.1).
    public var host: String = "127.0.0.1"
    /// `AMARRE_STATE_DIR`: sockets, logs, nginx prefix, database.
    /// Default `$XDG_STATE_HOME/amarre` or `~/.local/state/amarre`.
    public var stateDir: String
    /// `AMARRE_MAX_SESSIONS`: sessions (any status) the host keeps at once (default 8).
    public var maxSessions: Int = 8
    /// `AMARRE_MAX_RECORD_BYTES`: longest agent record relayed (default 16 MiB).
    public var maxRecordBytes: Int = 16 << 20
    /// `AMARRE_KILL_GRACE_MS`: SIGTERM -> SIGKILL delay when stopping an agent (default 5000).
    public var killGraceMs: Int = 5000
    /// `AMARRE_ALLOWED_ORIGINS`: comma-separated origins allowed besides the request's own.
    public var allowedOrigins: [String] = []
    /// `AMARRE_ALLOWED_HOSTS`: comma-separated host names amarre is reached under besides IP
    /// literals, `localhost` and `*.ts.net` (DNS-rebinding protection).
    public var allowedHosts: [String] = []
    /// `AMARRE_CLIENT_BUFFER_BYTES`: bytes queued for one WebSocket client before it is
    /// dropped as too slow (default 8 MiB).
    public var clientBufferBytes: Int = 8 << 20
    /// `AMARRE_CLIENT_STALL_MS`: a client whose queue has not moved for this long is closed
    /// with 1013 (default 30000). Falling behind alone never closes a client of a durable
    /// session: it catches up from the store.
    public var clientStallMs: Int = 30_000
    /// `AMARRE_STORE_BACKLOG_BYTES`: record bytes handed to the store and not yet committed
    /// above which the host stops reading agents' output until the writer catches up
    /// (default 32 MiB): the log never grows in memory without bound.
    public var storeBacklogBytes: Int = 32 << 20
    /// `AMARRE_TERMINAL_SCROLLBACK_BYTES`: output of a `terminal` session a new viewer is sent
    /// to redraw its screen (the newest records, default 4 MiB).
    public var terminalScrollbackBytes: Int = 4 << 20
    /// `AMARRE_STDIN_BUFFER_BYTES`: bytes queued for an agent's stdin before the host stops
    /// reading that session's clients (default 1 MiB).
    public var stdinBufferBytes: Int = 1 << 20
    /// `AMARRE_STDERR_LINE_BYTES`: longest agent stderr line logged; longer lines are cut (default 4096).
    public var stderrLineBytes: Int = 4096
    /// `AMARRE_PING_INTERVAL_MS`: WebSocket ping interval (default 30000); a client that has not
    /// answered by the next ping is dropped.
    public var pingIntervalMs: Int = 30_000
    /// `AMARRE_API_THREADS`: FastCGI threads, each serving one connection at a time (default
    /// 2 × cores + 2). nginx keeps up to `keepalive` idle connections per worker open, each
    /// holding a thread: workers × keepalive must stay below this (SPEC §8), so a new
    /// connection always finds a thread. The default fits `render-nginx`'s keepalive of 2 with
    /// `worker_processes auto`.
    public var apiThreads: Int = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
    /// `AMARRE_BASE_PATH`: the path amarre is served under (default `/`; always starts and ends
    /// with `/`): nginx strips it before amarre-api and amarre-host see a request; amarre-api
    /// scopes its cookie to it.
    public var basePath: String = "/"
    /// `AMARRE_METRICS_TOKEN`: a bearer token that may read `GET /metrics` (a scraper), besides
    /// the REST credentials.
    public var metricsToken: String?
    /// `AMARRE_SOCKET_MODE`: octal mode of the Unix sockets nginx connects to (default 0660).
    public var socketMode: Int = 0o660
    /// `AMARRE_DURABLE`: keep sessions and records in the store (default 1; 0 keeps them in
    /// memory only, as the original did).
    public var durable: Bool = true
    /// `AMARRE_RETAIN_RECORDS`: records kept per session (default 100,000).
    public var retainRecords: Int = 100_000
    /// `AMARRE_RETAIN_BYTES`: bytes of records kept per session (default 256 MiB).
    public var retainBytes: Int = 256 << 20
    /// `AMARRE_COMMIT_INTERVAL_MS`: longest time a record waits before it is committed to the
    /// store (default 50); a host killed with SIGKILL loses at most this much.
    public var commitIntervalMs: Int = 50
    /// `AMARRE_RESTART_BACKOFF_MS`: first delay before an automatic restart; doubles per
    /// attempt, at most 30 s (default 1000).
    public var restartBackoffMs: Int = 1000
    /// `AMARRE_LIST_CACHE_MS`: how long amarre-api may answer `GET /sessions` from its last
    /// copy (default 50; 0: always ask the host). Changes made through the API clear it.
    public var listCacheMs: Int = 50
    /// `AMARRE_DEMO_AGENT_BIN`: the demo agent (default: `amarre-demo-agent` beside the host binary).
    public var demoAgentBin: String?
    /// `PI_BIN`, `CLAUDE_BIN`: agent binaries (default `pi`, `claude` on `PATH`).
    public var piBin: String = "pi"
    public var claudeBin: String = "claude"
    /// `AMARRE_INSTANCES_JSON`, legacy `AMARRE_AGENT`, or what can run here.
    public var instances: [InstanceConfig] = []
    /// `AMARRE_AUTH`: `token` (default: only paired browsers and bearer tokens get in) or
    /// `none` (the original's model: whoever reaches the port drives the agents).
    public var auth: AuthMode = .token
    /// `AMARRE_PAIR_TTL_S`: seconds a pairing code stays valid (default 600).
    public var pairTTLSeconds: Int = 600
    /// `AMARRE_MAX_CLIENTS_PER_SESSION`: WebSocket clients one session takes (default 64).
    public var maxClientsPerSession: Int = 64
    /// `AMARRE_MAX_CLIENTS`: WebSocket clients the host takes in all (default 1024).
    public var maxClients: Int = 1024
    /// `AMARRE_PUSH`: send notifications (default on); off, nothing is ever sent and the push
    /// routes answer 503 `push_disabled`.
    public var push: Bool = true
    /// `AMARRE_PUSH_GRACE_MS`: how long an approval stays open before a notification, and how
    /// recent a message makes a client without presence count as looking (default 15000).
    public var pushGraceMs: Int = 15_000
    /// `AMARRE_PUSH_DETAIL`: `full` (default) or `none` (only "<session> needs you").
    public var pushDetail: String = "full"
    /// `AMARRE_PUBLIC_URL`: base of links in notifications (default `http://<host>:<port><base path>`).
    public var publicURL: String?
    /// `AMARRE_EXPO_PUSH_URL`: the Expo push service.
    public var expoPushURL: String = "https://exp.host/--/api/v2/push/send"
    /// `AMARRE_NTFY_URL`, `AMARRE_NTFY_TOKEN`: an ntfy topic to notify, and its access token.
    public var ntfyURL: String?
    public var ntfyToken: String?
    /// `AMARRE_WEBHOOK_URL`: a URL that gets every event as a JSON POST.
    public var webhookURL: String?
    /// `AMARRE_VAPID_SUBJECT`: the `sub` of VAPID tokens (a mailto: or https: URL).
    public var vapidSubject: String?
    /// `AMARRE_WORKTREE_ROOT`: where worktree sessions get their worktrees (default `<state>/worktrees`).
    public var worktreeRootOverride: String?
    /// `AMARRE_DIFF_MAX_BYTES`: longest diff `GET /sessions/<id>/changes?path=` returns (default 1 MiB).
    public var diffMaxBytes: Int = 1 << 20
    /// `AMARRE_GIT_TIMEOUT_MS`: longest a git command may run (default 10000).
    public var gitTimeoutMs: Int = 10_000

    public init(stateDir: String, instances: [InstanceConfig] = []) {
        self.stateDir = stateDir
        self.instances = instances
    }

    /// Where the processes meet. `run/` is the owner's (0700): the control socket (0600),
    /// which grants everything, lives there. `sockets/` holds only the two sockets nginx
    /// connects to, so nginx can be given that directory and nothing else.
    public var runDir: String { stateDir + "/run" }
    public var socketDir: String { socketDirOverride ?? stateDir + "/sockets" }
    /// `AMARRE_SOCKET_DIR`: where the sockets nginx connects to live (default
    /// `<state>/sockets`); for an nginx of another user, a directory outside the 0700 state
    /// directory that the nginx group may enter.
    public var socketDirOverride: String?
    public var apiSocketPath: String { socketDir + "/api.sock" }
    public var hostSocketPath: String { socketDir + "/host.sock" }
    public var controlSocketPath: String { runDir + "/control.sock" }
    /// Paired devices and tokens (hashes only), written by the host, read by the API.
    public var devicesPath: String { stateDir + "/devices.json" }
    /// The Web Push key pair, and the subscriptions and Expo tokens (the host's).
    public var vapidPath: String { stateDir + "/vapid.json" }
    public var pushPath: String { stateDir + "/push.json" }
    public var worktreeRoot: String { worktreeRootOverride ?? stateDir + "/worktrees" }

    /// Base of links in notifications, ending in `/`.
    public var effectivePublicURL: String {
        if let publicURL { return publicURL.hasSuffix("/") ? publicURL : publicURL + "/" }
        let listen = host == "0.0.0.0" || host == "::" || host == "*" ? "127.0.0.1" : host
        return "http://" + (listen.contains(":") ? "[\(listen)]" : listen) + ":\(port)" + basePath
    }

    /// The VAPID `sub`: `AMARRE_VAPID_SUBJECT`, else an https public URL, else a mailto.
    public var effectiveVAPIDSubject: String {
        if let vapidSubject { return vapidSubject }
        if let publicURL, publicURL.lowercased().hasPrefix("https://") { return publicURL }
        return "mailto:amarre@localhost.localdomain"
    }
    public var logDir: String { stateDir + "/log" }
    public var databasePath: String { stateDir + "/amarre.sqlite" }

    /// The instance `POST /sessions` uses without `instanceId`: `default` if configured, else the first.
    public var defaultInstance: InstanceConfig? {
        instances.first { $0.id == "default" } ?? instances.first
    }

    public func instance(_ id: String?) -> InstanceConfig? {
        guard let id else { return defaultInstance }
        return instances.first { $0.id == id }
    }
}

extension AmarreConfiguration {
    /// The largest value each numeric variable takes (others: 2^31 - 1).
    static let maximum: [String: Int] = [
        "AMARRE_MAX_RECORD_BYTES": 1 << 30, "AMARRE_CLIENT_BUFFER_BYTES": 1 << 34, "AMARRE_STDIN_BUFFER_BYTES": 1 << 30,
        "AMARRE_RETAIN_RECORDS": 1 << 40, "AMARRE_RETAIN_BYTES": 1 << 50, "AMARRE_DIFF_MAX_BYTES": 1 << 30,
        "AMARRE_KILL_GRACE_MS": 3_600_000, "AMARRE_PING_INTERVAL_MS": 3_600_000, "AMARRE_COMMIT_INTERVAL_MS": 60_000,
        "AMARRE_RESTART_BACKOFF_MS": 3_600_000, "AMARRE_LIST_CACHE_MS": 60_000, "AMARRE_PUSH_GRACE_MS": 86_400_000,
        "AMARRE_PAIR_TTL_S": 604_800, "AMARRE_GIT_TIMEOUT_MS": 600_000, "AMARRE_API_THREADS": 1024,
        "AMARRE_CLIENT_STALL_MS": 86_400_000, "AMARRE_STORE_BACKLOG_BYTES": 1 << 34,
    ]
}

/// `AMARRE_AUTH`.
public enum AuthMode: String, Sendable, Equatable, Codable {
    /// Every REST route but `/healthz` and `/auth/pair`, and every WebSocket upgrade, need a
    /// paired device's cookie or a bearer token.
    case token
    /// No access control: the network boundary (a tailnet ACL) is the only one.
    case none
}

/// A configuration error that stops start-up, with a message that names the culprit.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension AmarreConfiguration {
    /// Reads the configuration from `environment`.
    ///
    /// - Parameter isExecutable: whether a binary name or path can be run here; used only to
    ///   offer `pi` and `claude-code` when nothing is configured.
    /// `/x/y/` from `x/y`, `/x/y`, `/x//y/` (repeated slashes collapse, as `render-nginx`
    /// does); nil for segments with characters other than `[A-Za-z0-9._~-]`, and `.` or `..`.
    public static func normaliseBasePath(_ text: String) -> String? {
        let segments = text.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments {
            guard segment != ".", segment != "..",
                segment.unicodeScalars.allSatisfy({
                    ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5A)
                        || ($0.value >= 0x61 && $0.value <= 0x7A) || "-._~".unicodeScalars.contains($0)
                })
            else { return nil }
        }
        return segments.isEmpty ? "/" : "/" + segments.joined(separator: "/") + "/"
    }

    public static func fromEnvironment(
        _ environment: [String: String],
        isExecutable: (String) -> Bool = { _ in false }
    ) throws(ConfigurationError) -> AmarreConfiguration {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func positive(_ name: String, _ fallback: Int, allowZero: Bool = false) throws(ConfigurationError) -> Int {
            guard let text = value(name) else { return fallback }
            guard let n = Int(text), n > 0 || (allowZero && n == 0) else {
                throw ConfigurationError("\(name) must be a positive integer, got \"\(text)\"")
            }
            // Durations and sizes far past any use would only overflow arithmetic later.
            let most = AmarreConfiguration.maximum[name] ?? Int(Int32.max)
            guard n <= most else { throw ConfigurationError("\(name) must be at most \(most), got \(n)") }
            return n
        }

        let stateDir: String
        if let dir = value("AMARRE_STATE_DIR") {
            stateDir = dir
        } else if let xdg = value("XDG_STATE_HOME") {
            stateDir = xdg + "/amarre"
        } else if let home = value("HOME") {
            stateDir = home + "/.local/state/amarre"
        } else {
            throw ConfigurationError("set AMARRE_STATE_DIR (neither XDG_STATE_HOME nor HOME is set)")
        }
        var config = AmarreConfiguration(stateDir: stateDir)

        config.port = try positive("AMARRE_PORT", config.port)
        guard config.port <= 65535 else {
            throw ConfigurationError("AMARRE_PORT must be at most 65535, got \(config.port)")
        }
        config.host = value("AMARRE_HOST") ?? config.host
        config.maxSessions = try positive("AMARRE_MAX_SESSIONS", config.maxSessions)
        config.maxRecordBytes = try positive("AMARRE_MAX_RECORD_BYTES", config.maxRecordBytes)
        config.killGraceMs = try positive("AMARRE_KILL_GRACE_MS", config.killGraceMs, allowZero: true)
        config.clientBufferBytes = try positive("AMARRE_CLIENT_BUFFER_BYTES", config.clientBufferBytes)
        config.clientStallMs = try positive("AMARRE_CLIENT_STALL_MS", config.clientStallMs)
        config.storeBacklogBytes = try positive("AMARRE_STORE_BACKLOG_BYTES", config.storeBacklogBytes)
        config.terminalScrollbackBytes = try positive("AMARRE_TERMINAL_SCROLLBACK_BYTES", config.terminalScrollbackBytes)
        config.stdinBufferBytes = try positive("AMARRE_STDIN_BUFFER_BYTES", config.stdinBufferBytes)
        config.stderrLineBytes = try positive("AMARRE_STDERR_LINE_BYTES", config.stderrLineBytes)
        config.pingIntervalMs = try positive("AMARRE_PING_INTERVAL_MS", config.pingIntervalMs)
        config.apiThreads = try positive("AMARRE_API_THREADS", config.apiThreads)
        if let base = value("AMARRE_BASE_PATH") {
            guard let normalised = AmarreConfiguration.normaliseBasePath(base) else {
                throw ConfigurationError("AMARRE_BASE_PATH must be a path such as /amarre/, got \"\(base)\"")
            }
            config.basePath = normalised
        }
        config.metricsToken = value("AMARRE_METRICS_TOKEN")
        if let format = value("AMARRE_LOG_FORMAT"), !["text", "logfmt", "json"].contains(format) {
            throw ConfigurationError("AMARRE_LOG_FORMAT must be text, logfmt or json, got \"\(format)\"")
        }
        config.retainRecords = try positive("AMARRE_RETAIN_RECORDS", config.retainRecords)
        config.retainBytes = try positive("AMARRE_RETAIN_BYTES", config.retainBytes)
        config.commitIntervalMs = try positive("AMARRE_COMMIT_INTERVAL_MS", config.commitIntervalMs)
        config.restartBackoffMs = try positive("AMARRE_RESTART_BACKOFF_MS", config.restartBackoffMs)
        config.listCacheMs = try positive("AMARRE_LIST_CACHE_MS", config.listCacheMs, allowZero: true)
        config.pairTTLSeconds = try positive("AMARRE_PAIR_TTL_S", config.pairTTLSeconds)
        config.maxClientsPerSession = try positive("AMARRE_MAX_CLIENTS_PER_SESSION", config.maxClientsPerSession)
        config.maxClients = try positive("AMARRE_MAX_CLIENTS", config.maxClients)
        config.pushGraceMs = try positive("AMARRE_PUSH_GRACE_MS", config.pushGraceMs)
        if let push = value("AMARRE_PUSH") {
            switch push.lowercased() {
            case "1", "true", "yes", "on": config.push = true
            case "0", "false", "no", "off": config.push = false
            default: throw ConfigurationError("AMARRE_PUSH must be 1 or 0, got \"\(push)\"")
            }
        }
        if let detail = value("AMARRE_PUSH_DETAIL") {
            guard ["full", "none"].contains(detail.lowercased()) else {
                throw ConfigurationError("AMARRE_PUSH_DETAIL must be \"full\" or \"none\", got \"\(detail)\"")
            }
            config.pushDetail = detail.lowercased()
        }
        for (name, keyPath) in [
            ("AMARRE_PUBLIC_URL", \AmarreConfiguration.publicURL), ("AMARRE_NTFY_URL", \.ntfyURL),
            ("AMARRE_WEBHOOK_URL", \.webhookURL),
        ] {
            guard let url = value(name) else { continue }
            guard let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased(), scheme == "http" || scheme == "https",
                url.contains("://")
            else { throw ConfigurationError("\(name) must be an http:// or https:// URL, got \"\(url)\"") }
            config[keyPath: keyPath] = url
        }
        if let expo = value("AMARRE_EXPO_PUSH_URL") {
            guard expo.hasPrefix("http://") || expo.hasPrefix("https://") else {
                throw ConfigurationError("AMARRE_EXPO_PUSH_URL must be an http:// or https:// URL, got \"\(expo)\"")
            }
            config.expoPushURL = expo
        }
        config.ntfyToken = value("AMARRE_NTFY_TOKEN")
        config.diffMaxBytes = try positive("AMARRE_DIFF_MAX_BYTES", config.diffMaxBytes)
        config.gitTimeoutMs = try positive("AMARRE_GIT_TIMEOUT_MS", config.gitTimeoutMs)
        if let root = value("AMARRE_WORKTREE_ROOT") {
            guard root.hasPrefix("/") else { throw ConfigurationError("AMARRE_WORKTREE_ROOT must be an absolute path, got \"\(root)\"") }
            config.worktreeRootOverride = root
        }
        config.vapidSubject = value("AMARRE_VAPID_SUBJECT")
        if let auth = value("AMARRE_AUTH") {
            guard let mode = AuthMode(rawValue: auth.lowercased()) else {
                throw ConfigurationError(
                    "AMARRE_AUTH must be \"token\" (paired devices and bearer tokens only) or \"none\" (no access control), got \"\(auth)\"")
            }
            config.auth = mode
        }
        if let durable = value("AMARRE_DURABLE") {
            switch durable.lowercased() {
            case "1", "true", "yes", "on": config.durable = true
            case "0", "false", "no", "off": config.durable = false
            default: throw ConfigurationError("AMARRE_DURABLE must be 1 or 0, got \"\(durable)\"")
            }
        }
        if let mode = value("AMARRE_SOCKET_MODE") {
            guard let m = Int(mode, radix: 8), m > 0, m <= 0o777 else {
                throw ConfigurationError("AMARRE_SOCKET_MODE must be an octal mode like 0660, got \"\(mode)\"")
            }
            config.socketMode = m
        }
        if let origins = value("AMARRE_ALLOWED_ORIGINS") {
            config.allowedOrigins = origins.split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
                .map { OriginPolicy.normalize($0) }
        }
        if let hosts = value("AMARRE_ALLOWED_HOSTS") {
            config.allowedHosts = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        config.socketDirOverride = value("AMARRE_SOCKET_DIR")
        config.demoAgentBin = value("AMARRE_DEMO_AGENT_BIN")
        config.piBin = value("PI_BIN") ?? config.piBin
        config.claudeBin = value("CLAUDE_BIN") ?? config.claudeBin

        if let json = value("AMARRE_INSTANCES_JSON") {
            config.instances = try parseInstances(json)
        } else if let agent = value("AMARRE_AGENT") {
            let instance = InstanceConfig(id: "default", agent: AgentKind(rawValue: agent))
            try instance.validate()
            config.instances = [instance]
        } else {
            if isExecutable(config.piBin) { config.instances.append(InstanceConfig(id: "pi", agent: .pi)) }
            if isExecutable(config.claudeBin) {
                config.instances.append(InstanceConfig(id: "claude-code", agent: .claudeCode))
            }
            config.instances.append(InstanceConfig(id: "demo", agent: .demo))
        }
        return config
    }

    /// Parses `AMARRE_INSTANCES_JSON`: `[{"id","agent","env"?,"command"?}]`.
    public static func parseInstances(_ json: String) throws(ConfigurationError) -> [InstanceConfig] {
        let instances: [InstanceConfig]
        do {
            instances = try JSONDecoder().decode([InstanceConfig].self, from: Data(json.utf8))
        } catch {
            throw ConfigurationError("AMARRE_INSTANCES_JSON is not a list of {\"id\",\"agent\",\"env\"?,\"command\"?}: \(Self.describe(error))")
        }
        guard !instances.isEmpty else { throw ConfigurationError("AMARRE_INSTANCES_JSON lists no instance") }
        var seen = Set<String>()
        for instance in instances {
            guard seen.insert(instance.id).inserted else {
                throw ConfigurationError("AMARRE_INSTANCES_JSON: duplicate instance id \"\(instance.id)\"")
            }
            try instance.validate()
        }
        return instances
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing \"\(key.stringValue)\" at \(path(ctx.codingPath))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(path(ctx.codingPath))"
        case DecodingError.dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "invalid JSON" : "invalid value at \(path(ctx.codingPath))"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

extension InstanceConfig {
    /// Start-up checks that name the instance.
    public func validate() throws(ConfigurationError) {
        guard !id.isEmpty else { throw ConfigurationError("an instance has an empty id") }
        guard AgentKind.known.contains(agent) else {
            throw ConfigurationError(
                "instance \"\(id)\": unknown agent \"\(agent)\" (known: \(AgentKind.known.map(\.rawValue).joined(separator: ", ")))")
        }
        if agent == .command || agent == .terminal {
            guard let command, let first = command.first, !first.isEmpty else {
                throw ConfigurationError("instance \"\(id)\": agent \"\(agent)\" needs a non-empty \"command\" argv")
            }
        }
    }
}
