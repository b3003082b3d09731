@testable import AmarreAgents
import AmarreJSON
import Testing

@Suite("ClaudeCodeAdapter: client commands")
struct ClaudeCodeAdapterCommandTests {
    @Test("started() sends claude the initialize control request")
    func startedSendsInitialize() throws {
        var adapter = ClaudeCodeAdapter(idPrefix: "t")
        let out = try ParsedOutput(adapter.started())
        #expect(out.clients.isEmpty)
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"control_request","request_id":"t-req-1","request":{"subtype":"initialize","hooks":null}}"#)])
    }

    @Test("the answer to initialize is consumed and its slash commands answer get_commands")
    func initializeAnswerFeedsGetCommands() throws {
        var h = ClaudeHarness()
        _ = h.adapter.started()
        let answer = try h.agent(ClaudeLine.controlSuccess(
            "t-req-1", response: #"{"commands":[{"name":"compact","description":"Summarise","argumentHint":""}],"output_style":"default"}"#))
        #expect(answer.clients.isEmpty && answer.agent.isEmpty)
        let out = try h.client(#"{"id":"c","type":"get_commands"}"#)
        #expect(out.clients == [try JSONFixture.parse(
            #"{"id":"c","type":"response","command":"get_commands","success":true,"data":{"commands":[{"name":"compact","description":"Summarise","source":"extension"}]}}"#)])
    }

    @Test("a prompt while idle is answered, starts a run and becomes a claude user message")
    func promptWhileIdle() throws {
        var h = ClaudeHarness()
        let out = try h.client(#"{"id":"p1","type":"prompt","message":"Hello"}"#)
        let user = #"{"role":"user","content":[{"type":"text","text":"Hello"}],"timestamp":1700000000000}"#
        #expect(out.clients == [
            try JSONFixture.parse(#"{"id":"p1","type":"response","command":"prompt","success":true}"#),
            try JSONFixture.parse(#"{"type":"agent_start"}"#),
            try JSONFixture.parse(#"{"type":"turn_start"}"#),
            try JSONFixture.parse(#"{"type":"message_start","message":\#(user)}"#),
            try JSONFixture.parse(#"{"type":"message_end","message":\#(user)}"#),
        ])
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"Hello"}]},"parent_tool_use_id":null}"#)])
    }

    @Test("a prompt's images go to claude as base64 image blocks before the text")
    func promptWithImages() throws {
        var h = ClaudeHarness()
        let out = try h.client(#"{"type":"prompt","message":"What is this?","images":[{"type":"image","data":"QUJD","mimeType":"image/jpeg"}]}"#)
        #expect(out.agent == [try JSONFixture.parse(#"""
            {"type":"user","parent_tool_use_id":null,"message":{"role":"user","content":[
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"QUJD"}},
              {"type":"text","text":"What is this?"}]}}
            """#)])
        let user = try #require(out.clients("message_end").first?["message"])
        #expect(user["content"] == (try JSONFixture.parse(
            #"[{"type":"text","text":"What is this?"},{"type":"image","data":"QUJD","mimeType":"image/jpeg"}]"#)))
    }

    @Test("prompts and follow-ups during a run are queued, announced, and sent in order one per result")
    func queueWhileBusy() throws {
        var h = ClaudeHarness()
        try h.prompt("first")
        let second = try h.client(#"{"id":"p2","type":"prompt","message":"second"}"#)
        #expect(second.agent.isEmpty)
        #expect(second.clients == [
            try JSONFixture.parse(#"{"id":"p2","type":"response","command":"prompt","success":true}"#),
            try JSONFixture.parse(#"{"type":"queue_update","steering":[],"followUp":["second"]}"#),
        ])
        let third = try h.client(#"{"id":"f3","type":"follow_up","message":"third"}"#)
        #expect(third.agent.isEmpty)
        #expect(third.clients.last == (try JSONFixture.parse(#"{"type":"queue_update","steering":[],"followUp":["second","third"]}"#)))

        let state = try h.client(#"{"type":"get_state"}"#)
        #expect(state.clients.first?["data"]?["pendingMessageCount"]?.intValue == 2)
        #expect(state.clients.first?["data"]?["isStreaming"] == .bool(true))

        let end = try h.agent(ClaudeLine.result())
        #expect(end.clientTypes == [
            "turn_end", "agent_end", "queue_update", "agent_start", "turn_start", "message_start", "message_end",
        ])
        #expect(end.clients("queue_update").first == (try JSONFixture.parse(#"{"type":"queue_update","steering":[],"followUp":["third"]}"#)))
        #expect(end.agent.map { $0["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue } == ["second"])

        let last = try h.agent(ClaudeLine.result())
        #expect(last.agent.map { $0["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue } == ["third"])
        let idle = try h.agent(ClaudeLine.result())
        #expect(idle.agent.isEmpty)
    }

    @Test("a prompt with streamingBehavior followUp is queued like follow_up")
    func promptFollowUpBehaviour() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.client(#"{"type":"prompt","message":"later","streamingBehavior":"followUp"}"#)
        #expect(out.agent.isEmpty)
        #expect(out.clientTypes == ["response", "queue_update"])
    }

    @Test("steer during a run goes to claude at once, which folds it into the running turn")
    func steerWhileBusy() throws {
        var h = ClaudeHarness()
        try h.prompt()
        for line in [#"{"id":"s","type":"steer","message":"use tabs"}"#, #"{"type":"prompt","message":"use tabs","streamingBehavior":"steer"}"#] {
            let out = try h.client(line)
            #expect(out.clientTypes == ["response", "message_start", "message_end"])
            #expect(out.agent.count == 1)
            #expect(out.agent.first?["message"]?["content"]?.arrayValue?.first?["text"] == "use tabs")
        }
    }

    @Test("steer and follow_up while idle start a run like a prompt")
    func steerAndFollowUpWhileIdle() throws {
        for type in ["steer", "follow_up"] {
            var h = ClaudeHarness()
            let out = try h.client(#"{"type":"\#(type)","message":"go"}"#)
            #expect(out.clientTypes == ["response", "agent_start", "turn_start", "message_start", "message_end"])
            #expect(out.agent.count == 1)
        }
    }

    @Test("abort sends an interrupt control request, empties the queue, and is answered when claude answers")
    func abort() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.client(#"{"type":"follow_up","message":"later"}"#)
        let out = try h.client(#"{"id":"a1","type":"abort"}"#)
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"control_request","request_id":"t-req-1","request":{"subtype":"interrupt"}}"#)])
        #expect(out.clients == [try JSONFixture.parse(#"{"type":"queue_update","steering":[],"followUp":[]}"#)])
        let answered = try h.agent(ClaudeLine.controlSuccess("t-req-1"))
        #expect(answered.clients == [try JSONFixture.parse(#"{"id":"a1","type":"response","command":"abort","success":true}"#)])
        let end = try h.agent(ClaudeLine.result(isError: true, subtype: "error_during_execution"))
        #expect(end.agent.isEmpty)
        #expect(end.clients("agent_end").first?["stopReason"] == "aborted")
    }

    @Test("request ids are unique: every control request gets a fresh one")
    func uniqueRequestIDs() throws {
        var h = ClaudeHarness()
        let first = try h.client(#"{"type":"abort"}"#)
        let second = try h.client(#"{"type":"abort"}"#)
        let ids = (first.agent + second.agent).compactMap { $0["request_id"]?.stringValue }
        #expect(ids.count == 2 && Set(ids).count == 2)
    }

    @Test("set_model in pi's provider/modelId shape becomes claude's set_model; claude's answer becomes the response")
    func setModel() throws {
        var h = ClaudeHarness()
        let out = try h.client(#"{"id":"m","type":"set_model","provider":"anthropic","modelId":"claude-opus-4-1"}"#)
        #expect(out.clients.isEmpty)
        #expect(out.agent == [try JSONFixture.parse(
            #"{"type":"control_request","request_id":"t-req-1","request":{"subtype":"set_model","model":"claude-opus-4-1"}}"#)])
        let answer = try h.agent(ClaudeLine.controlSuccess("t-req-1"))
        #expect(answer.clients == [try JSONFixture.parse(#"""
            {"id":"m","type":"response","command":"set_model","success":true,
             "data":{"id":"claude-opus-4-1","name":"claude-opus-4-1","api":"anthropic-messages","provider":"anthropic"}}
            """#)])
        let state = try h.client(#"{"type":"get_state"}"#)
        #expect(state.clients.first?["data"]?["model"]?["id"] == "claude-opus-4-1")
    }

    @Test("a refused control request becomes a failed response carrying claude's error")
    func refusedControlRequest() throws {
        var h = ClaudeHarness()
        _ = try h.client(#"{"id":"m","type":"set_model","modelId":"nope"}"#)
        let out = try h.agent(ClaudeLine.controlError("t-req-1", "unknown model"))
        #expect(out.clients == [try JSONFixture.parse(
            #"{"id":"m","type":"response","command":"set_model","success":false,"error":"unknown model"}"#)])
    }

    @Test("get_state is answered in pi's shape from what claude said")
    func getState() throws {
        var h = ClaudeHarness()
        _ = try h.agent(ClaudeLine.initRecord(session: "sess-9", model: "claude-sonnet"))
        let out = try h.client(#"{"id":7,"type":"get_state"}"#)
        #expect(out.clients == [try JSONFixture.parse(#"""
            {"id":7,"type":"response","command":"get_state","success":true,"data":{
              "model":{"id":"claude-sonnet","name":"claude-sonnet","api":"anthropic-messages","provider":"anthropic"},
              "thinkingLevel":"off","isStreaming":false,"isCompacting":false,"steeringMode":"all",
              "followUpMode":"one-at-a-time","sessionFile":null,"sessionId":"sess-9",
              "autoCompactionEnabled":true,"messageCount":0,"pendingMessageCount":0,
              "permissionMode":"default","permissionModes":["default","acceptEdits","plan"],"allowedTools":[]}}
            """#)])
    }

    @Test("get_messages returns the user, assistant and tool result messages seen, in order")
    func getMessages() throws {
        var h = ClaudeHarness()
        try h.prompt("list files")
        _ = try h.agent(
            ClaudeLine.assistant(#"[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]"#),
            ClaudeLine.toolResult(id: "toolu_1", content: #""a.txt""#),
            ClaudeLine.assistant(id: "msg_2", #"[{"type":"text","text":"One file."}]"#),
            ClaudeLine.result())
        let out = try h.client(#"{"type":"get_messages"}"#)
        let messages = try #require(out.clients.first?["data"]?["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["user", "assistant", "toolResult", "assistant"])
        #expect(messages[2]["content"] == (try JSONFixture.parse(#"[{"type":"text","text":"a.txt"}]"#)))
        let state = try h.client(#"{"type":"get_state"}"#)
        #expect(state.clients.first?["data"]?["messageCount"]?.intValue == 4)
    }

    @Test("a command claude-code cannot do, or that is malformed, gets a failed response")
    func unsupportedAndMalformed() throws {
        var h = ClaudeHarness()
        #expect(try h.client(#"{"id":"x","type":"set_thinking_level","level":"high"}"#).clients == [try JSONFixture.parse(
            #"{"id":"x","type":"response","command":"set_thinking_level","success":false,"error":"set_thinking_level is not supported for claude-code"}"#)])
        #expect(try h.client(#"{"id":"y","type":"prompt"}"#).clients == [try JSONFixture.parse(
            #"{"id":"y","type":"response","command":"prompt","success":false,"error":"prompt needs a \"message\" string"}"#)])
        #expect(try h.client(#"[1,2]"#).clients.first?["command"] == "parse")
        #expect(try h.client(#"{"id":"z","type":"set_model"}"#).clients.first?["success"] == .bool(false))
    }

    @Test("the queue is bounded: past the limit a prompt is refused, not dropped silently")
    func boundedQueue() throws {
        var h = ClaudeHarness()
        h.adapter = ClaudeCodeAdapter(idPrefix: "t", limits: .init(maxQueuedMessages: 1))
        try h.prompt()
        #expect(try h.client(#"{"type":"follow_up","message":"one"}"#).clients.first?["success"] == .bool(true))
        let refused = try h.client(#"{"id":"two","type":"follow_up","message":"two"}"#)
        #expect(refused.clients.first?["success"] == .bool(false))
        #expect(refused.agent.isEmpty)
    }
}
