@testable import AmarreAgents
import AmarreCore
import Foundation
import Testing

@Suite("pi and spawn preparation")
struct PiAgentTests {
    static func plan(_ agent: AgentKind, env: [String: String] = [:]) -> SpawnPlan {
        SpawnPlan(executable: "/usr/bin/agent", arguments: ["agent", "--mode", "rpc"], environment: env, cwd: nil)
    }

    @Test("the gate extension ships in the module's bundle and is a real pi extension")
    func gateIsBundled() throws {
        let path = try #require(PiAgent.gatePath(environment: [:]))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(path.hasSuffix("amarre-permission-gate.ts"))
        #expect(text.contains("export default function"))
        #expect(text.contains(#"pi.on("tool_call""#))
        #expect(text.contains("AMARRE_ALLOW_TOOLS"))
    }

    @Test("AMARRE_PI_GATE overrides the bundled gate")
    func gateOverride() {
        #expect(PiAgent.gatePath(environment: ["AMARRE_PI_GATE": "/opt/gate.ts"]) == "/opt/gate.ts")
    }

    @Test("pi instances load the gate with -e and get their allowTools as AMARRE_ALLOW_TOOLS")
    func preparePi() throws {
        var instance = InstanceConfig(id: "p", agent: .pi)
        instance.allowTools = ["read", "grep", "ls"]
        var plan = Self.plan(.pi, env: ["PATH": "/bin"])
        AgentAdapters.prepare(&plan, for: instance, resumeToken: nil)
        let gate = try #require(PiAgent.gatePath(environment: [:]))
        #expect(plan.arguments == ["agent", "--mode", "rpc", "-e", gate])
        #expect(plan.environment == ["PATH": "/bin", "AMARRE_ALLOW_TOOLS": "read,grep,ls"])
    }

    @Test("without allowTools the environment is left as configured")
    func preparePiWithoutAllowTools() {
        var plan = Self.plan(.pi, env: ["AMARRE_ALLOW_TOOLS": "read"])
        AgentAdapters.prepare(&plan, for: InstanceConfig(id: "p", agent: .pi), resumeToken: nil)
        #expect(plan.environment["AMARRE_ALLOW_TOOLS"] == "read")
    }

    @Test("a pi gate that cannot be found makes the spawn fail instead of running pi ungated")
    func missingGateFailsClosed() {
        var plan = Self.plan(.pi)
        AgentAdapters.prepare(&plan, for: InstanceConfig(id: "p", agent: .pi), resumeToken: nil, gate: nil)
        #expect(plan.executable == AgentAdapters.missingGateExecutable)
        #expect(!plan.arguments.contains("-e"))
    }

    @Test(
        "resume arguments: claude --resume <session_id>, pi --session <file>, nothing for others",
        arguments: [
            (AgentKind.claudeCode, "sess-1", ["--resume", "sess-1"]),
            (AgentKind.pi, "/home/u/.pi/agent/sessions/x.jsonl", ["--session", "/home/u/.pi/agent/sessions/x.jsonl"]),
            (AgentKind.demo, "t", []),
            (AgentKind.command, "t", []),
            (AgentKind.claudeCode, "", []),
        ])
    func resumeArguments(agent: AgentKind, token: String, expected: [String]) {
        #expect(AgentAdapters.resumeArguments(agent: agent, token: token) == expected)
    }

    @Test("prepare adds the resume arguments when a token was recorded")
    func prepareResumes() {
        var claude = Self.plan(.claudeCode)
        AgentAdapters.prepare(&claude, for: InstanceConfig(id: "c", agent: .claudeCode), resumeToken: "sess-7")
        #expect(claude.arguments.suffix(2) == ["--resume", "sess-7"])
        var pi = Self.plan(.pi)
        AgentAdapters.prepare(&pi, for: InstanceConfig(id: "p", agent: .pi), resumeToken: "/s.jsonl")
        #expect(pi.arguments.contains("--session") && pi.arguments.contains("/s.jsonl"))
    }

    @Test("pi and translated claude-code get adapters; raw claude-code, demo and command pass through")
    func adapterChoice() {
        var raw = InstanceConfig(id: "r", agent: .claudeCode)
        raw.raw = true
        #expect(AgentAdapters.adapter(for: InstanceConfig(id: "p", agent: .pi)) is PiAdapter)
        #expect(AgentAdapters.adapter(for: InstanceConfig(id: "c", agent: .claudeCode)) is ClaudeCodeAdapter)
        #expect(AgentAdapters.adapter(for: raw) == nil)
        #expect(AgentAdapters.adapter(for: InstanceConfig(id: "d", agent: .demo)) == nil)
        #expect(AgentAdapters.adapter(for: InstanceConfig(id: "x", agent: .command, command: ["cat"])) == nil)
    }
}

@Suite("PiAdapter")
struct PiAdapterTests {
    static let stateAnswer = #"{"id":"t-state","type":"response","command":"get_state","success":true,"data":{"sessionFile":"/s/1.jsonl","sessionId":"1","isStreaming":false}}"#

    @Test("it asks pi for its state at start and keeps that answer from clients")
    func asksStateAtStart() {
        var adapter = PiAdapter(idPrefix: "t")
        #expect(adapter.started().toAgent == [Array(#"{"id":"t-state","type":"get_state"}"#.utf8)])
        let out = adapter.fromAgent(Array(Self.stateAnswer.utf8))
        #expect(out.toClients.isEmpty && out.toAgent.isEmpty)
        #expect(adapter.resumeToken == "/s/1.jsonl")
    }

    @Test("every line passes through untouched both ways")
    func passThrough() {
        var adapter = PiAdapter(idPrefix: "t")
        for line in [#"{"type":"agent_start"}"#, #"{"id":"c1","type":"response","command":"prompt","success":true}"#, "not json"] {
            #expect(adapter.fromAgent(Array(line.utf8)) == AdapterOutput(toClients: [Array(line.utf8)]))
            #expect(adapter.fromClient(Array(line.utf8)) == AdapterOutput(toAgent: [Array(line.utf8)]))
        }
    }

    @Test("a client's get_state answer is passed on with the session's allowed tools and updates the session file")
    func learnsFromClientsGetState() {
        var adapter = PiAdapter(idPrefix: "t", carry: AdapterCarry(allowedTools: ["bash"]))
        let line = #"{"id":"c","type":"response","command":"get_state","success":true,"data":{"sessionFile":"/s/2.jsonl"}}"#
        let expected = #"{"id":"c","type":"response","command":"get_state","success":true,"data":{"sessionFile":"/s/2.jsonl","allowedTools":["bash"]}}"#
        #expect(adapter.fromAgent(Array(line.utf8)).toClients == [Array(expected.utf8)])
        #expect(adapter.resumeToken == "/s/2.jsonl")
    }

    @Test("after a command that changes the session it asks for the state again")
    func followsSessionChanges() {
        var adapter = PiAdapter(idPrefix: "t")
        let line = #"{"id":"n","type":"response","command":"new_session","success":true,"data":{"cancelled":false}}"#
        let out = adapter.fromAgent(Array(line.utf8))
        #expect(out.toClients == [Array(line.utf8)])
        #expect(out.toAgent == [Array(#"{"id":"t-state","type":"get_state"}"#.utf8)])
    }
}
