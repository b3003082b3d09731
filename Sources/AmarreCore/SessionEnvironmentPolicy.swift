/// Which variables a session's own `env` (from `POST /sessions`) may set.
///
/// A session is created by a client; its instance by the owner. Variables that change how
/// amarre, the dynamic linker or an interpreter behave would let a client weaken what the
/// owner configured (switch off pi's permission gate with `AMARRE_ALLOW_TOOLS`, load code
/// with `LD_PRELOAD` or `NODE_OPTIONS`), so they are refused unless the instance lists them
/// in `allowSessionEnv`.
public enum SessionEnvironmentPolicy {
    public static let deniedPrefixes = ["AMARRE_", "LD_", "BASH_FUNC_", "GIT_CONFIG"]
    public static let deniedNames: Set<String> = [
        "NODE_OPTIONS", "BASH_ENV", "ENV", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT",
        // Code loaded from paths, or run by tools the agent uses without asking.
        "PYTHONPATH", "NODE_PATH", "PERL5LIB", "RUBYLIB", "PROMPT_COMMAND",
        "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR",
    ]

    public static func isDenied(_ name: String) -> Bool {
        deniedNames.contains(name) || deniedPrefixes.contains { name.hasPrefix($0) }
    }

    /// 400 naming the first refused variable (in name order).
    public static func check(_ env: [String: String]?, instance: InstanceConfig) throws(AmarreError) {
        guard let env else { return }
        let allowed = Set(instance.allowSessionEnv ?? [])
        for name in env.keys.sorted() where isDenied(name) && !allowed.contains(name) {
            throw .badRequest(
                "\"env.\(name)\" may not be set by a session; the instance \"\(instance.id)\" can allow it with \"allowSessionEnv\"")
        }
    }
}
