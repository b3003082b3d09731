@testable import AmarreAgents
import AmarreJSON
import Foundation
import Testing

@Suite("Allow for this session, permission modes and models")
struct SessionGrantTests {
    /// As claude 2.1 sends them: rules, and also a mode and a directory (never passed on).
    static let suggestion =
        #"[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"ls:*"}],"behavior":"allow","destination":"localSettings"},{"type":"addDirectories","directories":["/w"],"destination":"session"},{"type":"setMode","mode":"acceptEdits","destination":"session"}]"#

    static func canUseTool(_ request: String, tool: String = "Bash") -> String {
        #"{"type":"control_request","request_id":"\#(request)","request":{"subtype":"can_use_tool","tool_name":"\#(tool)","input":{"command":"ls"},"permission_suggestions":\#(suggestion),"tool_use_id":"toolu_1"}}"#
    }

    @Test("scope session allows with claude's suggested rules (only rules) kept for the session, and later calls are not asked")
    func claudeAllowForSession() throws {
        var h = ClaudeHarness()
        _ = try h.agent(Self.canUseTool("R1"))
        let answer = try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true,"scope":"session"}"#)
        #expect(answer.agent == [try JSONFixture.parse(#"""
            {"type":"control_response","response":{"subtype":"success","request_id":"R1","response":{
              "behavior":"allow","updatedInput":{"command":"ls"},
              "updatedPermissions":[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"ls:*"}],"behavior":"allow","destination":"session"}]}}}
            """#)])
        #expect(answer.clients == [try JSONFixture.parse(#"{"type":"session_permissions","allowedTools":["Bash"]}"#)])
        let later = try h.agent(Self.canUseTool("R2"))
        #expect(later.clients.isEmpty)
        #expect(later.agent == [try JSONFixture.parse(
            #"{"type":"control_response","response":{"subtype":"success","request_id":"R2","response":{"behavior":"allow","updatedInput":{"command":"ls"}}}}"#)])
        let other = try h.agent(Self.canUseTool("R3", tool: "Write"))
        #expect(other.clients.first?["type"]?.stringValue == "extension_ui_request")
        #expect(h.adapter.carry.allowedTools == ["Bash"])
    }

    @Test("revoking asks claude to ask again and later calls get a card")
    func claudeRevoke() throws {
        var h = ClaudeHarness()
        _ = try h.agent(Self.canUseTool("R1"))
        _ = try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true,"scope":"session"}"#)
        let revoked = try h.client(#"{"type":"revoke_tool_permission","toolName":"Bash","id":"v"}"#)
        #expect(revoked.agent == [try JSONFixture.parse(
            #"{"type":"control_request","request_id":"t-req-2","request":{"subtype":"apply_flag_settings","settings":{"permissions":{"ask":["Bash"]}}}}"#)])
        #expect(revoked.clients == [
            try JSONFixture.parse(#"{"id":"v","type":"response","command":"revoke_tool_permission","success":true}"#),
            try JSONFixture.parse(#"{"type":"session_permissions","allowedTools":[]}"#),
        ])
        // claude's answer to the flag settings is consumed.
        #expect(try h.agent(ClaudeLine.controlSuccess("t-req-2")).clients.isEmpty)
        let asked = try h.agent(Self.canUseTool("R2"))
        #expect(asked.clients.first?["toolName"]?.stringValue == "Bash")
        let again = try h.client(#"{"type":"revoke_tool_permission","toolName":"Bash"}"#)
        #expect(again.clients.first?["success"]?.boolValue == false)
    }

    @Test("ExitPlanMode is never allowed for the session")
    func planIsNotGrantable() throws {
        var h = ClaudeHarness()
        let card = try h.agent(Self.canUseTool("R1", tool: "ExitPlanMode"))
        #expect(card.clients.allSatisfy { $0["toolName"] == nil })
        let answer = try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true,"scope":"session"}"#)
        #expect(answer.clients.isEmpty)
        #expect(answer.agent.first?["response"]?["response"]?["updatedPermissions"] == nil)
    }

    @Test("a carried grant is honoured by the next process")
    func carriedGrant() throws {
        var h = ClaudeHarness()
        h.adapter = ClaudeCodeAdapter(idPrefix: "t", resumeToken: "sess-1", carry: AdapterCarry(allowedTools: ["Bash"], messageCount: 6))
        #expect(try h.agent(Self.canUseTool("R1")).clients.isEmpty)
        let state = try h.client(#"{"type":"get_state"}"#)
        #expect(state.clients.first?["data"]?["sessionId"]?.stringValue == "sess-1")
        #expect(state.clients.first?["data"]?["messageCount"]?.intValue == 6)
        #expect(state.clients.first?["data"]?["allowedTools"] == (try JSONFixture.parse(#"["Bash"]"#)))
    }

    @Test("set_permission_mode: claude's modes; bypassPermissions only when the instance allows it")
    func permissionModes() throws {
        var h = ClaudeHarness()
        let refused = try h.client(#"{"id":1,"type":"set_permission_mode","mode":"bypassPermissions"}"#)
        #expect(refused.agent.isEmpty)
        #expect(refused.clients.first?["success"]?.boolValue == false)
        let unknown = try h.client(#"{"id":2,"type":"set_permission_mode","mode":"yolo"}"#)
        #expect(unknown.clients.first?["success"]?.boolValue == false)
        let plan = try h.client(#"{"id":3,"type":"set_permission_mode","mode":"plan"}"#)
        #expect(plan.agent == [try JSONFixture.parse(
            #"{"type":"control_request","request_id":"t-req-1","request":{"subtype":"set_permission_mode","mode":"plan"}}"#)])
        let accepted = try h.agent(ClaudeLine.controlSuccess("t-req-1"))
        #expect(accepted.clients == [try JSONFixture.parse(
            #"{"id":3,"type":"response","command":"set_permission_mode","success":true,"data":{"mode":"plan"}}"#)])
        #expect(try h.client(#"{"type":"get_state"}"#).clients.first?["data"]?["permissionMode"]?.stringValue == "plan")
        // claude's own word on its mode (system/status) is followed too.
        _ = try h.agent(#"{"type":"system","subtype":"status","permissionMode":"acceptEdits","session_id":"s"}"#)
        #expect(try h.client(#"{"type":"get_state"}"#).clients.first?["data"]?["permissionMode"]?.stringValue == "acceptEdits")

        var bypass = ClaudeHarness()
        bypass.adapter = ClaudeCodeAdapter(idPrefix: "t", allowBypass: true)
        let allowed = try bypass.client(#"{"id":4,"type":"set_permission_mode","mode":"bypassPermissions"}"#)
        #expect(allowed.agent.first?["request"]?["mode"]?.stringValue == "bypassPermissions")
        #expect(try bypass.client(#"{"type":"get_state"}"#).clients.first?["data"]?["permissionModes"]
            == (try JSONFixture.parse(#"["default","acceptEdits","plan","bypassPermissions"]"#)))
    }

    @Test("get_available_models: the instance's list, else claude's own from initialize (asked before, answered then)")
    func models() throws {
        var h = ClaudeHarness()
        _ = h.adapter.started()
        let early = try h.client(#"{"id":"early","type":"get_commands"}"#)
        #expect(early.clients.isEmpty)
        let initialized = try h.agent(ClaudeLine.controlSuccess(
            "t-req-1", response: #"{"commands":[{"name":"compact","description":"Compact"}],"models":[{"value":"sonnet","displayName":"Sonnet","description":"fast"}]}"#))
        #expect(initialized.clients.first?["id"]?.stringValue == "early")
        #expect(initialized.clients.first?["data"]?["commands"]?.arrayValue?.count == 1)
        let theirs = try h.client(#"{"id":"m","type":"get_available_models"}"#)
        #expect(theirs.clients == [try JSONFixture.parse(
            #"{"id":"m","type":"response","command":"get_available_models","success":true,"data":{"models":[{"provider":"anthropic","id":"sonnet","name":"Sonnet","description":"fast"}]}}"#)])
        let commands = try h.client(#"{"type":"get_commands"}"#)
        #expect(commands.clients.first?["data"]?["commands"] == (try JSONFixture.parse(
            #"[{"name":"compact","description":"Compact","source":"extension"}]"#)))

        var mine = ClaudeHarness()
        mine.adapter = ClaudeCodeAdapter(idPrefix: "t", models: ["claude-a", "claude-b"])
        let listed = try mine.client(#"{"type":"get_available_models"}"#)
        #expect(listed.clients.first?["data"]?["models"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["claude-a", "claude-b"])
    }

    @Test("an abort mid-stream ends the cut-off message as aborted (null stop_reason, message_stop before result)")
    func abortMidStream() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(
            ClaudeLine.messageStart(), ClaudeLine.blockStart(0, #"{"type":"text","text":""}"#),
            ClaudeLine.delta(0, #"{"type":"text_delta","text":"Hel"}"#))
        _ = try h.client(#"{"type":"abort"}"#)
        let end = try h.agent(
            ClaudeLine.blockStop(0),
            ClaudeLine.stream(#"{"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},"usage":{"output_tokens":2}}"#),
            ClaudeLine.messageStop)
        let messageEnd = try #require(end.clients.first { $0["type"]?.stringValue == "message_end" })
        #expect(messageEnd["message"]?["stopReason"]?.stringValue == "aborted")
        let result = try h.agent(ClaudeLine.result(isError: false))
        let agentEnd = try #require(result.clients.first { $0["type"]?.stringValue == "agent_end" })
        #expect(agentEnd["stopReason"]?.stringValue == "aborted")
    }
}

@Suite("PiAdapter: the gate's questions and grants")
struct PiGrantTests {
    static let select =
        #"{"type":"extension_ui_request","id":"q1","method":"select","title":"Run bash?\nls","options":["Allow once","Allow bash for this session","Deny"]}"#

    func json(_ bytes: [UInt8]) throws -> JSONValue { try JSONFixture.parse(bytes) }

    @Test("the gate's select reaches clients with toolName; confirmed true and false mean Allow once and Deny")
    func selectAnswers() throws {
        var adapter = PiAdapter(idPrefix: "t")
        let shown = adapter.fromAgent(Array(Self.select.utf8))
        #expect(try shown.toClients.map(json).first?["toolName"]?.stringValue == "bash")
        let yes = adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"q1","confirmed":true}"#.utf8))
        #expect(try yes.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"q1","value":"Allow once"}"#)])
        _ = adapter.fromAgent(Array(Self.select.replacingOccurrences(of: "q1", with: "q2").utf8))
        let no = adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"q2","confirmed":false}"#.utf8))
        #expect(try no.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"q2","value":"Deny"}"#)])
    }

    @Test("allow for this session is kept by the adapter: later questions are answered without a card, until revoked")
    func grantAndRevoke() throws {
        var adapter = PiAdapter(idPrefix: "t")
        _ = adapter.fromAgent(Array(Self.select.utf8))
        let granted = adapter.fromClient(
            Array(#"{"type":"extension_ui_response","id":"q1","confirmed":true,"scope":"session"}"#.utf8))
        #expect(try granted.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"q1","value":"Allow once"}"#)])
        #expect(try granted.toClients.map(json) == [try JSONFixture.parse(#"{"type":"session_permissions","allowedTools":["bash"]}"#)])
        let second = adapter.fromAgent(Array(Self.select.replacingOccurrences(of: "q1", with: "q2").utf8))
        #expect(second.toClients.isEmpty)
        #expect(try second.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"q2","value":"Allow once"}"#)])
        let revoked = adapter.fromClient(Array(#"{"type":"revoke_tool_permission","toolName":"bash","id":7}"#.utf8))
        #expect(revoked.toAgent.isEmpty)
        #expect(try revoked.toClients.map(json) == [
            try JSONFixture.parse(#"{"id":7,"type":"response","command":"revoke_tool_permission","success":true}"#),
            try JSONFixture.parse(#"{"type":"session_permissions","allowedTools":[]}"#),
        ])
        let third = adapter.fromAgent(Array(Self.select.replacingOccurrences(of: "q1", with: "q3").utf8))
        #expect(third.toClients.count == 1)
    }

    @Test("a cancelled answer never allows, whatever else it says")
    func cancelledNeverAllows() throws {
        var adapter = PiAdapter(idPrefix: "t")
        _ = adapter.fromAgent(Array(Self.select.utf8))
        let line = #"{"type":"extension_ui_response","id":"q1","confirmed":true,"scope":"session","cancelled":true}"#
        let out = adapter.fromClient(Array(line.utf8))
        #expect(out.toAgent == [Array(line.utf8)])
        #expect(adapter.carry.allowedTools.isEmpty)
    }

    @Test("the select's own for-this-session option is taken over by the adapter")
    func sessionOptionValue() throws {
        var adapter = PiAdapter(idPrefix: "t")
        _ = adapter.fromAgent(Array(Self.select.utf8))
        let out = adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"q1","value":"Allow bash for this session"}"#.utf8))
        #expect(try out.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"q1","value":"Allow once"}"#)])
        #expect(adapter.carry.allowedTools == ["bash"])
    }

    @Test("in confirm mode the gate's confirms (Run <tool>?) get toolName; other questions pass through untouched")
    func otherQuestions() throws {
        let confirm = #"{"type":"extension_ui_request","id":"c1","method":"confirm","title":"Run edit?","message":"a.txt"}"#
        // Not in confirm mode: another extension's "Run edit?" is not the gate's.
        var selectMode = PiAdapter(idPrefix: "t", carry: AdapterCarry(allowedTools: ["edit"]))
        #expect(selectMode.fromAgent(Array(confirm.utf8)) == AdapterOutput(toClients: [Array(confirm.utf8)]))
        var adapter = PiAdapter(idPrefix: "t", gateAsksConfirm: true)
        #expect(try adapter.fromAgent(Array(confirm.utf8)).toClients.map(json).first?["toolName"]?.stringValue == "edit")
        let granted = adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"c1","confirmed":true,"scope":"session"}"#.utf8))
        #expect(try granted.toAgent.map(json) == [try JSONFixture.parse(#"{"type":"extension_ui_response","id":"c1","confirmed":true}"#)])
        for line in [
            Self.select,  // a select in confirm mode is not the gate's
            #"{"type":"extension_ui_request","id":"x","method":"select","title":"Pick","options":["a","b"]}"#,
            #"{"type":"extension_ui_request","id":"y","method":"confirm","title":"Run the migration now?","message":""}"#,
            #"{"type":"extension_ui_request","id":"z","method":"input","title":"Name?"}"#,
        ] {
            #expect(adapter.fromAgent(Array(line.utf8)) == AdapterOutput(toClients: [Array(line.utf8)]))
        }
        let answer = #"{"type":"extension_ui_response","id":"x","value":"a"}"#
        #expect(adapter.fromClient(Array(answer.utf8)) == AdapterOutput(toAgent: [Array(answer.utf8)]))
    }

    @Test("set_permission_mode is refused for pi; carried grants survive a restart")
    func modesAndCarry() throws {
        var adapter = PiAdapter(idPrefix: "t", carry: AdapterCarry(allowedTools: ["read"]))
        let out = adapter.fromClient(Array(#"{"id":1,"type":"set_permission_mode","mode":"plan"}"#.utf8))
        #expect(out.toAgent.isEmpty)
        #expect(try out.toClients.map(json).first?["success"]?.boolValue == false)
        #expect(AdapterCarry(jsonText: AdapterCarry(allowedTools: ["read"], messageCount: 3).jsonText)
            == AdapterCarry(allowedTools: ["read"], messageCount: 3))
        #expect(AdapterCarry(jsonText: "not json") == AdapterCarry())
    }
}
