@testable import AmarreAgents
import AmarreJSON
import Testing

@Suite("ClaudeCodeAdapter: claude's stream")
struct ClaudeCodeAdapterStreamTests {
    /// The assistant message as pi renders it, with the adapter's fixed fields.
    static func assistant(_ content: String, stopReason: String = "stop", usage: String = zeroUsage, model: String = "claude-test") -> String {
        #"{"role":"assistant","content":\#(content),"api":"anthropic-messages","provider":"anthropic","model":"\#(model)","usage":\#(usage),"stopReason":"\#(stopReason)","timestamp":1700000000000}"#
    }

    static let zeroUsage = #"{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":0,"cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":0}}"#

    static func usage(input: Int, output: Int) -> String {
        #"{"input":\#(input),"output":\#(output),"cacheRead":0,"cacheWrite":0,"totalTokens":\#(input + output),"cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":0}}"#
    }

    @Test("system init names the session to resume and passes through")
    func initRecord() throws {
        var h = ClaudeHarness()
        let line = ClaudeLine.initRecord(session: "abc-123")
        let out = h.adapter.fromAgent(Array(line.utf8))
        #expect(out.toClients == [Array(line.utf8)])
        #expect(h.adapter.resumeToken == "abc-123")
    }

    @Test("claude output while idle announces a run: agent_start and turn_start")
    func outputWhileIdleStartsRun() throws {
        var h = ClaudeHarness()
        let out = try h.agent(ClaudeLine.messageStart())
        #expect(out.clientTypes == ["agent_start", "turn_start", "message_start", "message_update"])
        #expect(out.clients[2] == (try JSONFixture.parse(
            #"{"type":"message_start","message":\#(Self.assistant("[]", usage: Self.usage(input: 12, output: 1)))}"#)))
        #expect(out.clients[3]["assistantMessageEvent"] == (try JSONFixture.parse(#"{"type":"start"}"#)))
    }

    @Test("streamed text becomes text_start, text_delta and text_end, each with the message so far")
    func streamedText() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(
            ClaudeLine.messageStart(),
            ClaudeLine.blockStart(0, #"{"type":"text","text":""}"#),
            ClaudeLine.delta(0, #"{"type":"text_delta","text":"Hel"}"#),
            ClaudeLine.delta(0, #"{"type":"text_delta","text":"lo"}"#),
            ClaudeLine.blockStop(0))
        #expect(out.assistantEvents == ["start", "text_start", "text_delta", "text_delta", "text_end"])
        let updates = out.clients("message_update")
        #expect(updates[3] == (try JSONFixture.parse(#"""
            {"type":"message_update","assistantMessageEvent":{"type":"text_delta","contentIndex":0,"delta":"lo"},
             "message":\#(Self.assistant(#"[{"type":"text","text":"Hello"}]"#, usage: Self.usage(input: 12, output: 1)))}
            """#)))
        #expect(updates[4]["assistantMessageEvent"] == (try JSONFixture.parse(#"{"type":"text_end","contentIndex":0,"content":"Hello"}"#)))
    }

    @Test("streamed thinking becomes thinking_start, thinking_delta and thinking_end; signatures are dropped")
    func streamedThinking() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(
            ClaudeLine.messageStart(),
            ClaudeLine.blockStart(0, #"{"type":"thinking","thinking":"","signature":""}"#),
            ClaudeLine.delta(0, #"{"type":"thinking_delta","thinking":"Hmm"}"#),
            ClaudeLine.delta(0, #"{"type":"signature_delta","signature":"sig"}"#),
            ClaudeLine.blockStop(0))
        #expect(out.assistantEvents == ["start", "thinking_start", "thinking_delta", "thinking_end"])
        #expect(out.clients.last?["message"]?["content"] == (try JSONFixture.parse(#"[{"type":"thinking","thinking":"Hmm"}]"#)))
    }

    @Test("a streamed tool call becomes toolcall events and tool_execution_start with its parsed input")
    func streamedToolCall() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(
            ClaudeLine.messageStart(),
            ClaudeLine.blockStart(0, #"{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}"#),
            ClaudeLine.delta(0, #"{"type":"input_json_delta","partial_json":"{\"command\": "}"#),
            ClaudeLine.delta(0, #"{"type":"input_json_delta","partial_json":"\"ls -la\"}"}"#),
            ClaudeLine.blockStop(0))
        #expect(out.assistantEvents == ["start", "toolcall_start", "toolcall_delta", "toolcall_delta", "toolcall_end"])
        let partial = out.clients("message_update")[2]["message"]?["content"]
        #expect(partial == (try JSONFixture.parse(#"[{"type":"toolCall","id":"toolu_1","name":"Bash","arguments":{}}]"#)))
        let end = out.clients("message_update")[4]["assistantMessageEvent"]
        #expect(end == (try JSONFixture.parse(
            #"{"type":"toolcall_end","contentIndex":0,"toolCall":{"type":"toolCall","id":"toolu_1","name":"Bash","arguments":{"command":"ls -la"}}}"#)))
        #expect(out.clients.last == (try JSONFixture.parse(
            #"{"type":"tool_execution_start","toolCallId":"toolu_1","toolName":"Bash","args":{"command":"ls -la"}}"#)))
    }

    @Test("message_stop ends the message: done with pi's stop reason, message_end, claude's usage")
    func messageStop() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(
            ClaudeLine.messageStart(),
            ClaudeLine.blockStart(0, #"{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}"#),
            ClaudeLine.delta(0, #"{"type":"input_json_delta","partial_json":"{}"}"#),
            ClaudeLine.blockStop(0),
            ClaudeLine.messageDelta(stopReason: "tool_use", outputTokens: 9),
            ClaudeLine.messageStop)
        let message = Self.assistant(
            #"[{"type":"toolCall","id":"toolu_1","name":"Bash","arguments":{}}]"#, stopReason: "toolUse",
            usage: Self.usage(input: 12, output: 9))
        #expect(out.clients.suffix(2) == [
            try JSONFixture.parse(#"{"type":"message_update","assistantMessageEvent":{"type":"done","reason":"toolUse"},"message":\#(message)}"#),
            try JSONFixture.parse(#"{"type":"message_end","message":\#(message)}"#),
        ])
    }

    @Test(
        "claude's stop reasons map to pi's",
        arguments: [("end_turn", "stop"), ("tool_use", "toolUse"), ("max_tokens", "length"), ("stop_sequence", "stop")])
    func stopReasons(claude: String, pi: String) throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(ClaudeLine.messageStart(), ClaudeLine.messageDelta(stopReason: claude), ClaudeLine.messageStop)
        #expect(out.clients("message_end").first?["message"]?["stopReason"] == .string(pi))
    }

    @Test("the complete assistant records of a streamed message are not rendered again")
    func streamedThenComplete() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(
            ClaudeLine.messageStart(),
            ClaudeLine.blockStart(0, #"{"type":"text","text":""}"#),
            ClaudeLine.delta(0, #"{"type":"text_delta","text":"Hi"}"#),
            ClaudeLine.blockStop(0))
        let during = try h.agent(ClaudeLine.assistant(#"[{"type":"text","text":"Hi"}]"#))
        #expect(during.clients.isEmpty)
        _ = try h.agent(ClaudeLine.messageStop)
        let after = try h.agent(ClaudeLine.assistant(#"[{"type":"text","text":"Hi"}]"#))
        #expect(after.clients.isEmpty)
    }

    @Test("complete assistant records without partials become the same events, one message per message id")
    func completeRecords() throws {
        var h = ClaudeHarness()
        try h.prompt()
        let out = try h.agent(
            ClaudeLine.assistant(#"[{"type":"thinking","thinking":"Plan","signature":"s"}]"#),
            ClaudeLine.assistant(#"[{"type":"text","text":"Listing."}]"#),
            ClaudeLine.assistant(stopReason: #""tool_use""#, #"[{"type":"tool_use","id":"toolu_9","name":"Bash","input":{"command":"ls","timeout":1.5e3}}]"#))
        #expect(out.clientTypes.filter { $0 == "message_start" }.count == 1)
        #expect(out.assistantEvents == [
            "start", "thinking_start", "thinking_delta", "thinking_end", "text_start", "text_delta", "text_end",
            "toolcall_start", "toolcall_delta", "toolcall_end",
        ])
        #expect(out.clients.last == (try JSONFixture.parse(
            #"{"type":"tool_execution_start","toolCallId":"toolu_9","toolName":"Bash","args":{"command":"ls","timeout":1500}}"#)))
        let end = try h.agent(ClaudeLine.toolResult(id: "toolu_9", content: #""ok""#))
        let message = try #require(end.clients("message_end").first?["message"])
        #expect(message["content"] == (try JSONFixture.parse(#"""
            [{"type":"thinking","thinking":"Plan"},{"type":"text","text":"Listing."},
             {"type":"toolCall","id":"toolu_9","name":"Bash","arguments":{"command":"ls","timeout":1500}}]
            """#)))
        #expect(message["stopReason"] == "toolUse")
    }

    @Test("a tool_result becomes tool_execution_end and a toolResult message")
    func toolResult() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.assistant(#"[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]"#))
        let out = try h.agent(ClaudeLine.toolResult(id: "toolu_1", content: #""a.txt\nb.txt""#))
        let result = #"{"role":"toolResult","toolCallId":"toolu_1","toolName":"Bash","content":[{"type":"text","text":"a.txt\nb.txt"}],"isError":false,"timestamp":1700000000000}"#
        #expect(out.clients.suffix(3) == [
            try JSONFixture.parse(#"{"type":"tool_execution_end","toolCallId":"toolu_1","toolName":"Bash","result":{"content":[{"type":"text","text":"a.txt\nb.txt"}]},"isError":false}"#),
            try JSONFixture.parse(#"{"type":"message_start","message":\#(result)}"#),
            try JSONFixture.parse(#"{"type":"message_end","message":\#(result)}"#),
        ])
        #expect(out.clientTypes.prefix(2) == ["message_update", "message_end"])
    }

    @Test("error results and block content map to isError and pi text and image blocks")
    func toolResultBlocks() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.assistant(#"[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"/p.png"}}]"#))
        let out = try h.agent(ClaudeLine.toolResult(
            id: "toolu_1",
            content: #"[{"type":"text","text":"png"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]"#,
            isError: true))
        #expect(out.clients("tool_execution_end").first == (try JSONFixture.parse(#"""
            {"type":"tool_execution_end","toolCallId":"toolu_1","toolName":"Read","isError":true,
             "result":{"content":[{"type":"text","text":"png"},{"type":"image","data":"iVBO","mimeType":"image/png"}]}}
            """#)))
    }

    @Test("a new assistant message after a finished one ends the turn and opens the next")
    func turnsFollowAssistantMessages() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.assistant(#"[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}]"#))
        _ = try h.agent(ClaudeLine.toolResult(id: "toolu_1", content: #""done""#))
        let next = try h.agent(ClaudeLine.messageStart(id: "msg_2"))
        #expect(next.clientTypes == ["turn_end", "turn_start", "message_start", "message_update"])
        let turnEnd = next.clients[0]
        #expect(turnEnd["message"]?["content"]?.arrayValue?.first?["type"] == "toolCall")
        #expect(turnEnd["toolResults"]?.arrayValue?.map { $0["toolCallId"]?.stringValue } == ["toolu_1"])
    }

    @Test("result ends the run: message_end, turn_end, agent_end with the run's messages, usage and cost")
    func resultEndsRun() throws {
        var h = ClaudeHarness()
        try h.prompt("hi")
        _ = try h.agent(ClaudeLine.messageStart(), ClaudeLine.blockStart(0, #"{"type":"text","text":"Yo"}"#))
        let out = try h.agent(ClaudeLine.result(cost: 0.0421))
        #expect(out.clientTypes == ["message_update", "message_end", "turn_end", "agent_end"])
        #expect(out.assistantEvents == ["done"])
        let agentEnd = try #require(out.clients.last)
        #expect(agentEnd["messages"]?.arrayValue?.map { $0["role"]?.stringValue } == ["user", "assistant"])
        #expect(agentEnd["usage"] == (try JSONFixture.parse(
            #"{"input":100,"output":20,"cacheRead":30,"cacheWrite":4,"totalTokens":154,"cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":0.0421}}"#)))
        #expect(agentEnd["cost"] == (try JSONFixture.parse("0.0421")))
        #expect(out.clients[2]["message"]?["role"] == "assistant")
        let state = try h.client(#"{"type":"get_state"}"#)
        #expect(state.clients.first?["data"]?["isStreaming"] == .bool(false))
    }

    @Test("a failed result reports stopReason error with claude's message")
    func failedResult() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.messageStart())
        let out = try h.agent(ClaudeLine.result(isError: true, subtype: "error_during_execution"))
        #expect(out.assistantEvents == ["error"])
        #expect(out.clients("message_end").first?["message"]?["stopReason"] == "error")
        #expect(out.clients("message_end").first?["message"]?["errorMessage"] == "Done.")
        #expect(out.clients("agent_end").first?["stopReason"] == "error")
    }

    @Test("the end of a run closes tool executions that never got a result")
    func resultClosesRunningTools() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.client(#"{"type":"abort"}"#)
        _ = try h.agent(ClaudeLine.assistant(#"[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}]"#))
        let out = try h.agent(ClaudeLine.result(isError: true, subtype: "error_during_execution"))
        #expect(out.clients("tool_execution_end").first == (try JSONFixture.parse(
            #"{"type":"tool_execution_end","toolCallId":"toolu_1","toolName":"Bash","result":{"content":[{"type":"text","text":"Tool execution was aborted"}]},"isError":true}"#)))
        #expect(out.clients("message_end").first?["message"]?["stopReason"] == "aborted")
    }

    @Test("every run gets agent_start and turn_start, not only the first")
    func everyRunIsAnnounced() throws {
        var h = ClaudeHarness()
        for _ in 0..<3 {
            let start = try h.prompt()
            #expect(start.clientTypes.contains("agent_start") && start.clientTypes.contains("turn_start"))
            let repeated = try h.agent(ClaudeLine.initRecord())
            #expect(repeated.clientTypes == ["system"])
            let end = try h.agent(ClaudeLine.assistant(#"[{"type":"text","text":"ok"}]"#), ClaudeLine.result())
            #expect(end.clientTypes.suffix(2) == ["turn_end", "agent_end"])
        }
    }

    @Test("a run claude starts on its own (a late steer) is announced when its output arrives")
    func unannouncedRun() throws {
        var h = ClaudeHarness()
        try h.prompt()
        _ = try h.agent(ClaudeLine.result())
        let out = try h.agent(ClaudeLine.assistant(id: "msg_late", #"[{"type":"text","text":"Also done."}]"#))
        #expect(out.clientTypes.prefix(3) == ["agent_start", "turn_start", "message_start"])
    }

    @Test(
        "sub-agent records, unknown records and lines that are not JSON pass through untouched",
        arguments: [
            #"{"type":"assistant","parent_tool_use_id":"toolu_task","message":{"id":"m","content":[{"type":"text","text":"sub"}]}}"#,
            #"{"type":"stream_event","parent_tool_use_id":"toolu_task","event":{"type":"message_start","message":{"id":"m"}}}"#,
            #"{"type":"user","parent_tool_use_id":null,"message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#,
            #"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}"#,
            #"{"type":"system","subtype":"compact_boundary"}"#,
            #"{"type":"control_response","response":{"subtype":"success","request_id":"not-ours"}}"#,
            #"not json"#,
        ])
    func passThrough(line: String) {
        var adapter = ClaudeCodeAdapter(idPrefix: "t")
        let out = adapter.fromAgent(Array(line.utf8))
        #expect(out.toClients == [Array(line.utf8)])
        #expect(out.toAgent.isEmpty)
    }
}
