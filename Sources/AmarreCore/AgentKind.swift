/// What an instance runs. Extensible like a `String` enum, but unknown kinds are rejected
/// at start-up by `InstanceConfig.validate`.
public struct AgentKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Any program that speaks JSON lines; argv in the instance's `command`.
    public static let command = AgentKind(rawValue: "command")
    /// The bundled `amarre-demo-agent`.
    public static let demo = AgentKind(rawValue: "demo")
    /// `pi --mode rpc`.
    public static let pi = AgentKind(rawValue: "pi")
    /// Anthropic's `claude` CLI in stream-json mode.
    public static let claudeCode = AgentKind(rawValue: "claude-code")

    /// Any program with a terminal UI (a shell, aider, a TUI), run under a pseudo-terminal;
    /// argv in the instance's `command`.
    public static let terminal = AgentKind(rawValue: "terminal")

    public static let known: [AgentKind] = [.command, .demo, .pi, .claudeCode, .terminal]
    public var description: String { rawValue }
}
