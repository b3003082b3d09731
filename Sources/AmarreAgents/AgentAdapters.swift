public import AmarreCore

/// Chooses the adapter and the extra spawn arguments of each agent kind.
public enum AgentAdapters {
    /// The adapter that translates an instance's agent, or nil when its records pass through
    /// untouched (pi, demo, command; claude-code in raw mode).
    public static func adapter(for instance: InstanceConfig) -> (any AgentAdapter)? {
        nil
    }

    /// Adds what an agent kind needs beyond `SpawnPlan.make`: resume arguments after a restart.
    public static func prepare(_ plan: inout SpawnPlan, for instance: InstanceConfig, resumeToken: String?) {
        guard let resumeToken else { return }
        switch instance.agent {
        case .claudeCode: plan.arguments += ["--resume", resumeToken]
        default: break
        }
    }
}
