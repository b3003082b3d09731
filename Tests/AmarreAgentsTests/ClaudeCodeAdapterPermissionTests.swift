@testable import AmarreAgents
import AmarreJSON
import Testing

@Suite("ClaudeCodeAdapter: permissions")
struct ClaudeCodeAdapterPermissionTests {
    @Test("can_use_tool becomes a confirm question with the tool's name and a readable preview")
    func canUseToolBecomesConfirm() throws {
        var h = ClaudeHarness()
        let out = try h.agent(ClaudeLine.canUseTool(input: #"{"command":"rm -rf build","description":"Clean"}"#))
        #expect(out.agent.isEmpty)
        #expect(out.clients == [try JSONFixture.parse(
            #"{"type":"extension_ui_request","id":"t-ui-1","method":"confirm","title":"Allow Bash?","message":"rm -rf build\n# Clean","toolName":"Bash"}"#)])
    }

    @Test("confirmed: true allows the tool with its original input, untouched")
    func confirmedAllows() throws {
        var h = ClaudeHarness()
        let input = #"{"file_path":"/w/a.txt","content":"x","zeta":1.50,"alpha":[3,2,1]}"#
        _ = try h.agent(ClaudeLine.canUseTool(request: "req-42", tool: "Write", input: input))
        let out = h.adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true}"#.utf8))
        #expect(out.toClients.isEmpty)
        let expected = #"{"type":"control_response","response":{"subtype":"success","request_id":"req-42","response":{"behavior":"allow","updatedInput":\#(input)}}}"#
        #expect(out.toAgent == [Array(expected.utf8)])
    }

    @Test(
        "anything but confirmed: true denies the tool",
        arguments: [
            #"{"type":"extension_ui_response","id":"t-ui-1","confirmed":false}"#,
            #"{"type":"extension_ui_response","id":"t-ui-1","cancelled":true}"#,
            #"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true,"cancelled":true}"#,
            #"{"type":"extension_ui_response","id":"t-ui-1","value":"yes"}"#,
            #"{"type":"extension_ui_response","id":"t-ui-1","confirmed":"true"}"#,
        ])
    func otherAnswersDeny(answer: String) throws {
        var h = ClaudeHarness()
        _ = try h.agent(ClaudeLine.canUseTool(request: "R9"))
        let out = try h.client(answer)
        #expect(out.clients.isEmpty)
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"control_response","response":{"subtype":"success","request_id":"R9","response":{"behavior":"deny","message":"Denied from amarre"}}}"#)])
    }

    @Test("only the first answer to a question reaches claude; unknown ids are ignored")
    func firstAnswerWins() throws {
        var h = ClaudeHarness()
        _ = try h.agent(ClaudeLine.canUseTool())
        #expect(try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true}"#).agent.count == 1)
        #expect(try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":false}"#).agent.isEmpty)
        #expect(try h.client(#"{"type":"extension_ui_response","id":"other","confirmed":true}"#).agent.isEmpty)
    }

    @Test("questions asked together are answered independently, each to its own request")
    func concurrentQuestions() throws {
        var h = ClaudeHarness()
        let first = try h.agent(ClaudeLine.canUseTool(request: "A"))
        let second = try h.agent(ClaudeLine.canUseTool(request: "B", tool: "Read", input: #"{"file_path":"/etc/hosts"}"#))
        let firstID = try #require(first.clients.first?["id"]?.stringValue)
        let secondID = try #require(second.clients.first?["id"]?.stringValue)
        #expect(firstID != secondID)
        #expect(second.clients.first?["message"] == "/etc/hosts")
        let b = try h.client(#"{"type":"extension_ui_response","id":"\#(secondID)","confirmed":false}"#)
        let a = try h.client(#"{"type":"extension_ui_response","id":"\#(firstID)","confirmed":true}"#)
        #expect(b.agent.first?["response"]?["request_id"] == "B")
        #expect(b.agent.first?["response"]?["response"]?["behavior"] == "deny")
        #expect(a.agent.first?["response"]?["request_id"] == "A")
        #expect(a.agent.first?["response"]?["response"]?["behavior"] == "allow")
    }

    @Test("ExitPlanMode also sends the plan as a plan_capture notice before the question")
    func exitPlanMode() throws {
        var h = ClaudeHarness()
        let out = try h.agent(ClaudeLine.canUseTool(tool: "ExitPlanMode", input: #"{"plan":"1. Write tests\n2. Ship"}"#))
        #expect(out.clients == [
            try JSONFixture.parse(#"""
                {"type":"extension_ui_request","id":"t-plan-1","method":"notify","message":"Claude proposes a plan",
                 "notifyType":"info","event":"plan_capture","plan":"1. Write tests\n2. Ship"}
                """#),
            try JSONFixture.parse(
                #"{"type":"extension_ui_request","id":"t-ui-2","method":"confirm","title":"Allow ExitPlanMode?","message":"1. Write tests\n2. Ship"}"#),
        ])
    }

    @Test("a question claude withdraws (control_cancel_request) is forgotten, withdrawn, and the notice passes through")
    func withdrawnQuestion() throws {
        var h = ClaudeHarness()
        _ = try h.agent(ClaudeLine.canUseTool(request: "R1"))
        let cancel = #"{"type":"control_cancel_request","request_id":"R1"}"#
        let out = h.adapter.fromAgent(Array(cancel.utf8))
        #expect(out.toClients == [Array(cancel.utf8)])
        #expect(out.withdrawn == ["t-ui-1"])
        #expect(try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true}"#).agent.isEmpty)
    }

    @Test("questions left open when a run ends are forgotten; a late answer is not sent")
    func questionsEndWithTheRun() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.canUseTool())
        _ = try h.agent(ClaudeLine.result())
        #expect(try h.client(#"{"type":"extension_ui_response","id":"t-ui-1","confirmed":true}"#).agent.isEmpty)
    }

    @Test("other control requests from claude get an error answer, so claude never waits")
    func unsupportedControlRequest() throws {
        var h = ClaudeHarness()
        let out = try h.agent(#"{"type":"control_request","request_id":"H1","request":{"subtype":"hook_callback","callback_id":"x"}}"#)
        #expect(out.clients.isEmpty)
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"control_response","response":{"subtype":"error","request_id":"H1","error":"Unsupported control request subtype: hook_callback"}}"#)])
    }

    @Test("question ids carry the adapter's prefix, so a restarted agent never reuses one")
    func idsCarryPrefix() throws {
        var one = ClaudeCodeAdapter(idPrefix: "amarre-1a2b3c4d")
        var two = ClaudeCodeAdapter(idPrefix: "amarre-99887766")
        let line = Array(ClaudeLine.canUseTool().utf8)
        let a = try ParsedOutput(one.fromAgent(line)).clients.first?["id"]
        let b = try ParsedOutput(two.fromAgent(line)).clients.first?["id"]
        #expect(a == "amarre-1a2b3c4d-ui-1")
        #expect(b == "amarre-99887766-ui-1")
    }
}
