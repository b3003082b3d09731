public import AmarreCore
/// Everything needed to start one agent process: resolved from an instance, a session's
/// request and the server's environment, without touching the system.
public struct SpawnPlan: Sendable, Equatable {
    /// Absolute path of the program to exec.
    public var executable: String
    /// argv, argv[0] included.
    public var arguments: [String]
    /// The complete environment: server < instance `env` < session `env` (< the adapter's
    /// own variables, added by `AgentAdapters.prepare`).
    public var environment: [String: String]
    /// Working directory; nil keeps the host's.
    public var cwd: String?
    /// Run under a pseudo-terminal (the `terminal` agent kind) instead of pipes.
    public var terminal: Bool

    /// The terminal type a `terminal` agent sees.
    public static let terminalType = "xterm-256color"

    public init(executable: String, arguments: [String], environment: [String: String], cwd: String?, terminal: Bool = false) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.cwd = cwd
        self.terminal = terminal
    }

    /// The claude CLI flags protocol.md §5 prescribes.
    public static let claudeStreamArguments = [
        "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
        "--include-partial-messages", "--permission-prompt-tool", "stdio",
    ]

    /// - Parameters:
    ///   - isExecutable: whether an absolute path names an executable file.
    public static func make(
        instance: InstanceConfig,
        request: CreateSessionRequest,
        configuration: AmarreConfiguration,
        serverEnvironment: [String: String],
        isExecutable: (String) -> Bool
    ) throws(AmarreError) -> SpawnPlan {
        var environment = serverEnvironment
        environment.merge(instance.env) { _, new in new }
        environment.merge(request.env ?? [:]) { _, new in new }

        var argv: [String]
        switch instance.agent {
        case .command:
            argv = instance.command ?? []
        case .terminal:
            argv = instance.command ?? []
            environment["TERM"] = terminalType
        case .demo:
            argv = instance.command ?? [configuration.demoAgentBin ?? "amarre-demo-agent"]
        case .pi:
            argv = instance.command ?? [configuration.piBin]
            argv += ["--mode", "rpc"]
            if let model = instance.model { argv += ["--model", model] }
        case .claudeCode:
            argv = instance.command ?? [configuration.claudeBin]
            argv += claudeStreamArguments
            if let model = instance.model { argv += ["--model", model] }
        default:
            throw AmarreError(.spawnFailed, detail: "instance \(instance.id): unknown agent \(instance.agent)")
        }
        argv += instance.args ?? []
        guard let program = argv.first, !program.isEmpty else {
            throw AmarreError(.spawnFailed, detail: "instance \(instance.id) has no command")
        }
        // The program is looked up on the server's PATH (with the instance's, which the owner
        // configured), never on one a session sent.
        let searchPath = instance.env["PATH"] ?? serverEnvironment["PATH"]
        guard let executable = resolve(program, path: searchPath, isExecutable: isExecutable)
        else {
            throw AmarreError(.spawnFailed, detail: "instance \(instance.id): \(program) not found or not executable")
        }
        return SpawnPlan(
            executable: executable, arguments: argv, environment: environment, cwd: request.cwd,
            terminal: instance.agent == .terminal)
    }

    /// Resolves a program name like a shell does: a name with a slash is taken as is,
    /// other names are looked up in `path`.
    public static func resolve(_ program: String, path: String?, isExecutable: (String) -> Bool) -> String? {
        if program.contains("/") { return isExecutable(program) ? program : nil }
        let dirs = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false)
        for dir in dirs {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// `KEY=VALUE` strings for execve, in a stable order.
    public var environmentStrings: [String] {
        environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }
}
