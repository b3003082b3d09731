import AmarreAgents
public import AmarreCore
import Foundation

/// Finds the programs the host can run.
public enum HostExecutables {
    /// Whether `program` (a path, or a name looked up in `PATH`) is an executable file.
    public static func isExecutable(_ program: String) -> Bool {
        SpawnPlan.resolve(program, path: ProcessInfo.processInfo.environment["PATH"]) {
            access($0, X_OK) == 0
        } != nil
    }

    /// Fills in the demo agent's path, `amarre-demo-agent` beside the running binary, when
    /// `AMARRE_DEMO_AGENT_BIN` is not set.
    public static func withDemoAgent(_ configuration: AmarreConfiguration) -> AmarreConfiguration {
        guard configuration.demoAgentBin == nil else { return configuration }
        var c = configuration
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        c.demoAgentBin = me.deletingLastPathComponent().appendingPathComponent("amarre-demo-agent").path
        return c
    }
}
