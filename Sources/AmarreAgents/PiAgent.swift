import Foundation

/// What `pi --mode rpc` needs from the host: the permission gate extension shipped with amarre
/// (`Resources/amarre-permission-gate.ts`), loaded with `-e <file>`, and its configuration.
///
/// The gate asks clients before every tool call (an `extension_ui_request` select: "Allow once",
/// "Allow <tool> for this session", "Deny"; a plain confirm with `AMARRE_GATE_PROMPT=confirm`)
/// and blocks the call on anything but an allowing answer. Tools named in `AMARRE_ALLOW_TOOLS`
/// run without asking.
public enum PiAgent {
    /// Comma-separated tool names that run without asking (`*`: every tool); from an
    /// instance's `allowTools`.
    public static let allowToolsVariable = "AMARRE_ALLOW_TOOLS"
    /// An absolute path that replaces the bundled gate (e.g. when the binaries were moved away
    /// from their resource bundle).
    public static let gatePathVariable = "AMARRE_PI_GATE"
    /// `confirm`: the gate asks with pi's `confirm` ("Run <tool>?") instead of its select.
    public static let gatePromptVariable = "AMARRE_GATE_PROMPT"

    /// The gate extension's file: `AMARRE_PI_GATE` when set in `environment`, else the copy in
    /// this module's resource bundle. nil when neither exists.
    public static func gatePath(environment: [String: String]) -> String? {
        if let path = environment[gatePathVariable], !path.isEmpty {
            return path
        }
        // Not `Bundle.module`: its accessor traps when the bundle is missing. SwiftPM puts the
        // resource bundle beside the executable.
        let candidate = Bundle.main.bundleURL
            .appendingPathComponent("amarre_AmarreAgents.resources")
            .appendingPathComponent("amarre-permission-gate.ts").path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    /// The arguments that load the gate, appended after pi's own.
    public static func extensionArguments(gatePath: String) -> [String] {
        ["-e", gatePath]
    }

    /// The environment the gate reads for an instance's `allowTools` (nothing when nil).
    public static func environment(allowTools: [String]?) -> [String: String] {
        guard let allowTools else { return [:] }
        return [allowToolsVariable: allowTools.joined(separator: ",")]
    }
}
