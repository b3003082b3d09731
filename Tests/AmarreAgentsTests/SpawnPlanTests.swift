import AmarreAgents
import AmarreCore
import Testing

private let config = AmarreConfiguration(stateDir: "/s")
private let serverEnv = ["PATH": "/usr/bin:/bin", "HOME": "/home/u", "A": "server", "B": "server", "C": "server"]
/// Programs that "exist" in these tests.
private let installed: Set<String> = [
    "/usr/bin/pi", "/usr/bin/claude", "/usr/bin/cat", "/bin/sh", "/opt/bin/cat", "/opt/tools/pi",
    "/usr/bin/amarre-demo-agent", "/opt/demo",
]

private func plan(
    _ instance: InstanceConfig, _ request: CreateSessionRequest = CreateSessionRequest(),
    configuration: AmarreConfiguration = config, env: [String: String] = serverEnv
) throws(AmarreError) -> SpawnPlan {
    try SpawnPlan.make(
        instance: instance, request: request, configuration: configuration, serverEnvironment: env,
        isExecutable: { installed.contains($0) })
}

private func failure(_ body: () throws(AmarreError) -> SpawnPlan) -> AmarreError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite("SpawnPlan")
struct SpawnPlanTests {
    @Test("the environment layers server < instance < session")
    func environmentPrecedence() throws {
        let instance = InstanceConfig(id: "i", agent: .command, env: ["B": "instance", "C": "instance"], command: ["cat"])
        let p = try plan(instance, CreateSessionRequest(env: ["C": "session", "D": "session"]))
        #expect(p.environment["A"] == "server")
        #expect(p.environment["B"] == "instance")
        #expect(p.environment["C"] == "session")
        #expect(p.environment["D"] == "session")
        #expect(p.environment["HOME"] == "/home/u")
    }

    @Test("environment strings are KEY=VALUE in key order")
    func environmentStrings() {
        let p = SpawnPlan(executable: "/x", arguments: ["x"], environment: ["B": "2", "A": "1=1", "C": ""], cwd: nil)
        #expect(p.environmentStrings == ["A=1=1", "B=2", "C="])
    }

    @Test("a command instance runs its argv, then its extra args")
    func commandArgv() throws {
        let p = try plan(InstanceConfig(id: "i", agent: .command, command: ["cat", "-u"], args: ["-"]))
        #expect(p.executable == "/usr/bin/cat")
        #expect(p.arguments == ["cat", "-u", "-"])
    }

    @Test("pi runs in RPC mode with its model and extra args")
    func piArgv() throws {
        let p = try plan(InstanceConfig(id: "i", agent: .pi, args: ["--no-tools"], model: "sonnet"))
        #expect(p.executable == "/usr/bin/pi")
        #expect(p.arguments == ["pi", "--mode", "rpc", "--model", "sonnet", "--no-tools"])
        let bare = try plan(InstanceConfig(id: "i", agent: .pi))
        #expect(bare.arguments == ["pi", "--mode", "rpc"])
    }

    @Test("pi's binary comes from the configuration or the instance command")
    func piBinary() throws {
        var c = config
        c.piBin = "/opt/tools/pi"
        #expect(try plan(InstanceConfig(id: "i", agent: .pi), configuration: c).arguments == ["/opt/tools/pi", "--mode", "rpc"])
        let custom = try plan(InstanceConfig(id: "i", agent: .pi, command: ["/opt/tools/pi", "--verbose"]))
        #expect(custom.executable == "/opt/tools/pi")
        #expect(custom.arguments == ["/opt/tools/pi", "--verbose", "--mode", "rpc"])
    }

    @Test("claude-code runs with the stream-json flags")
    func claudeArgv() throws {
        let p = try plan(InstanceConfig(id: "i", agent: .claudeCode, args: ["--x"], model: "opus"))
        #expect(p.executable == "/usr/bin/claude")
        #expect(
            p.arguments == [
                "claude", "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
                "--include-partial-messages", "--permission-prompt-tool", "stdio", "--model", "opus", "--x",
            ])
    }

    @Test("the demo agent comes from the configuration, else from PATH")
    func demoArgv() throws {
        #expect(try plan(InstanceConfig(id: "d", agent: .demo)).arguments == ["amarre-demo-agent"])
        #expect(try plan(InstanceConfig(id: "d", agent: .demo)).executable == "/usr/bin/amarre-demo-agent")
        var c = config
        c.demoAgentBin = "/opt/demo"
        #expect(try plan(InstanceConfig(id: "d", agent: .demo), configuration: c).executable == "/opt/demo")
    }

    @Test("the program is looked up on the instance's PATH, never on one a session sent")
    func serverPath() throws {
        let instance = InstanceConfig(id: "i", agent: .command, env: ["PATH": "/opt/bin:/usr/bin"], command: ["cat"])
        #expect(try plan(instance).executable == "/opt/bin/cat")
        let session = CreateSessionRequest(env: ["PATH": "/usr/bin"])
        #expect(try plan(instance, session).executable == "/opt/bin/cat")
        // The session's PATH still reaches the agent's environment.
        #expect(try plan(instance, session).environment["PATH"] == "/usr/bin")
    }

    @Test("without PATH the usual directories are searched")
    func defaultPath() throws {
        let p = try plan(InstanceConfig(id: "i", agent: .command, command: ["sh"]), env: [:])
        #expect(p.executable == "/bin/sh")
    }

    @Test("resolve takes a path with a slash as is and reads empty PATH entries as the current directory")
    func resolve() {
        #expect(SpawnPlan.resolve("/bin/sh", path: "/nowhere", isExecutable: { $0 == "/bin/sh" }) == "/bin/sh")
        #expect(SpawnPlan.resolve("./run", path: "/bin", isExecutable: { $0 == "./run" }) == "./run")
        #expect(SpawnPlan.resolve("/bin/nope", path: "/bin", isExecutable: { _ in false }) == nil)
        #expect(SpawnPlan.resolve("tool", path: "/a::/b", isExecutable: { $0 == "./tool" }) == "./tool")
        #expect(SpawnPlan.resolve("tool", path: "/a:/b", isExecutable: { $0 == "/b/tool" }) == "/b/tool")
    }

    @Test("an unknown program is spawn_failed naming it")
    func unknownProgram() {
        let error = failure { () throws(AmarreError) in try plan(InstanceConfig(id: "i", agent: .command, command: ["no-such-tool"])) }
        #expect(error?.code == .spawnFailed)
        #expect(error?.detail?.contains("no-such-tool") == true)
        let missingPi = failure { () throws(AmarreError) in try plan(InstanceConfig(id: "i", agent: .pi), env: ["PATH": "/empty"]) }
        #expect(missingPi?.code == .spawnFailed)
    }

    @Test("an instance without a program is spawn_failed", arguments: [nil, [], [""]] as [[String]?])
    func noProgram(command: [String]?) {
        let error = failure { () throws(AmarreError) in try plan(InstanceConfig(id: "i", agent: .command, command: command)) }
        #expect(error?.code == .spawnFailed)
    }

    @Test("an unknown agent kind is spawn_failed")
    func unknownKind() {
        let error = failure { () throws(AmarreError) in try plan(InstanceConfig(id: "i", agent: AgentKind(rawValue: "gpt"), command: ["cat"])) }
        #expect(error?.code == .spawnFailed)
    }

    @Test("the session's cwd is the plan's")
    func cwd() throws {
        let instance = InstanceConfig(id: "i", agent: .command, command: ["cat"])
        #expect(try plan(instance, CreateSessionRequest(cwd: "/tmp")).cwd == "/tmp")
        #expect(try plan(instance).cwd == nil)
    }
}
