public import AmarreCore
import Foundation

/// Chooses the adapter and the extra spawn arguments of each agent kind.
public enum AgentAdapters {
    /// The adapter for an instance's agent, or nil when its records pass through untouched
    /// (demo, command; claude-code in raw mode).
    ///
    /// pi gets a `PiAdapter` (pass-through that learns the session file to resume);
    /// claude-code a `ClaudeCodeAdapter` (translation to and from pi's shapes). Each call makes
    /// a fresh adapter with fresh random request ids: call it once per spawned process.
    ///
    /// - Parameters:
    ///   - resumeToken: the conversation the process resumes (claude `--resume`), if any.
    ///   - carry: what the session's previous process handed on (grants, conversation size).
    ///   - gateAsksConfirm: pi's gate runs with `AMARRE_GATE_PROMPT=confirm` (its questions are
    ///     `confirm`s titled "Run <tool>?"; otherwise only its `select` is recognised).
    public static func adapter(
        for instance: InstanceConfig, resumeToken: String? = nil, carry: AdapterCarry = AdapterCarry(),
        gateAsksConfirm: Bool = false
    ) -> (any AgentAdapter)? {
        switch instance.agent {
        case .pi:
            return PiAdapter(idPrefix: "amarre-" + randomTag(), carry: carry, gateAsksConfirm: gateAsksConfirm)
        case .claudeCode where instance.raw != true:
            return ClaudeCodeAdapter(
                idPrefix: "amarre-" + randomTag(), model: instance.model, models: instance.models,
                allowBypass: instance.allowBypass == true, resumeToken: resumeToken, carry: carry,
                clock: { Int64((Date().timeIntervalSince1970 * 1000).rounded()) })
        default:
            return nil
        }
    }

    /// Adds what an agent kind needs beyond `SpawnPlan.make`: pi's permission gate extension
    /// (`-e <gate>`) and `AMARRE_ALLOW_TOOLS` from the instance's `allowTools`, and the resume
    /// arguments after a restart (`resumeArguments(agent:token:)`).
    ///
    /// pi must never run without its gate: when the gate file cannot be found the plan is
    /// made to fail at spawn (its executable names the missing gate), never to run ungated.
    public static func prepare(_ plan: inout SpawnPlan, for instance: InstanceConfig, resumeToken: String?) {
        let gate = instance.agent == .pi ? PiAgent.gatePath(environment: plan.environment) : nil
        prepare(&plan, for: instance, resumeToken: resumeToken, gate: gate)
    }

    /// `prepare` with the gate's path given (nil: not found).
    static func prepare(_ plan: inout SpawnPlan, for instance: InstanceConfig, resumeToken: String?, gate: String?) {
        if let resumeToken {
            plan.arguments += resumeArguments(agent: instance.agent, token: resumeToken)
        }
        if instance.agent == .claudeCode, instance.allowBypass == true {
            // claude accepts set_permission_mode bypassPermissions only when started with this
            // flag (it still starts in the default mode). As root claude refuses it unless
            // IS_SANDBOX=1 is in its environment: the owner's decision, not amarre's.
            plan.arguments.append("--allow-dangerously-skip-permissions")
        }
        guard instance.agent == .pi else { return }
        guard let gate else {
            plan.executable = missingGateExecutable
            return
        }
        plan.arguments += PiAgent.extensionArguments(gatePath: gate)
        plan.environment.merge(PiAgent.environment(allowTools: instance.allowTools)) { _, new in new }
    }

    /// What a pi plan runs when the gate is missing: nothing, so the spawn fails and says why.
    static let missingGateExecutable = "/nonexistent/amarre-permission-gate.ts-not-found"

    /// The arguments that make an agent continue a recorded conversation: claude
    /// `--resume <session_id>`, pi `--session <session file>`; none for other kinds or an
    /// empty token.
    public static func resumeArguments(agent: AgentKind, token: String) -> [String] {
        guard !token.isEmpty else { return [] }
        switch agent {
        case .claudeCode: return ["--resume", token]
        case .pi: return ["--session", token]
        default: return []
        }
    }

    /// Eight random hex digits.
    private static func randomTag() -> String {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return String(repeating: "0", count: 8 - tag.count) + tag
    }
}
