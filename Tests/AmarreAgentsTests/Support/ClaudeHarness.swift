@testable import AmarreAgents

/// Drives a `ClaudeCodeAdapter` with text lines and returns what it produced, parsed.
struct ClaudeHarness {
    var adapter = ClaudeCodeAdapter(idPrefix: "t", clock: { 1_700_000_000_000 })

    /// Feeds claude's stdout lines; returns everything they produced.
    mutating func agent(_ lines: String...) throws -> ParsedOutput {
        var all = AdapterOutput()
        for line in lines {
            let out = adapter.fromAgent(Array(line.utf8))
            all.toClients += out.toClients
            all.toAgent += out.toAgent
        }
        return try ParsedOutput(all)
    }

    /// Feeds one client frame.
    mutating func client(_ line: String) throws -> ParsedOutput {
        try ParsedOutput(adapter.fromClient(Array(line.utf8)))
    }

    /// Starts a run with a prompt, as most tests begin.
    @discardableResult
    mutating func prompt(_ text: String = "hi") throws -> ParsedOutput {
        try client(#"{"type":"prompt","message":"\#(text)"}"#)
    }
}

/// claude stream-json lines, as the CLI writes them (trimmed to the fields that matter).
enum ClaudeLine {
    static func initRecord(session: String = "sess-1", model: String = "claude-test") -> String {
        #"{"type":"system","subtype":"init","session_id":"\#(session)","model":"\#(model)","tools":["Bash"],"cwd":"/w","permissionMode":"default"}"#
    }

    static func stream(_ event: String) -> String {
        #"{"type":"stream_event","uuid":"u","session_id":"sess-1","parent_tool_use_id":null,"event":\#(event)}"#
    }

    static func messageStart(id: String = "msg_1") -> String {
        stream(#"{"type":"message_start","message":{"id":"\#(id)","type":"message","role":"assistant","model":"claude-test","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}"#)
    }

    static func blockStart(_ index: Int, _ block: String) -> String {
        stream(#"{"type":"content_block_start","index":\#(index),"content_block":\#(block)}"#)
    }

    static func delta(_ index: Int, _ delta: String) -> String {
        stream(#"{"type":"content_block_delta","index":\#(index),"delta":\#(delta)}"#)
    }

    static func blockStop(_ index: Int) -> String {
        stream(#"{"type":"content_block_stop","index":\#(index)}"#)
    }

    static func messageDelta(stopReason: String, outputTokens: Int = 7) -> String {
        stream(#"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","stop_sequence":null},"usage":{"output_tokens":\#(outputTokens)}}"#)
    }

    static let messageStop = stream(#"{"type":"message_stop"}"#)

    static func assistant(id: String = "msg_1", stopReason: String = "null", _ blocks: String) -> String {
        #"{"type":"assistant","parent_tool_use_id":null,"session_id":"sess-1","message":{"id":"\#(id)","type":"message","role":"assistant","model":"claude-test","content":\#(blocks),"stop_reason":\#(stopReason),"usage":{"input_tokens":12,"output_tokens":5}}}"#
    }

    static func toolResult(id: String, content: String, isError: Bool = false) -> String {
        #"{"type":"user","parent_tool_use_id":null,"session_id":"sess-1","message":{"role":"user","content":[{"tool_use_id":"\#(id)","type":"tool_result","content":\#(content),"is_error":\#(isError)}]}}"#
    }

    static func result(isError: Bool = false, subtype: String = "success", cost: Double = 0.05) -> String {
        #"{"type":"result","subtype":"\#(subtype)","is_error":\#(isError),"duration_ms":1200,"duration_api_ms":1000,"num_turns":1,"result":"Done.","session_id":"sess-1","total_cost_usd":\#(cost),"usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":30,"cache_creation_input_tokens":4}}"#
    }

    static func canUseTool(request: String = "R1", tool: String = "Bash", input: String = #"{"command":"ls -la"}"#) -> String {
        #"{"type":"control_request","request_id":"\#(request)","request":{"subtype":"can_use_tool","tool_name":"\#(tool)","input":\#(input),"permission_suggestions":[],"tool_use_id":"toolu_1"}}"#
    }

    static func controlSuccess(_ requestID: String, response: String = "{}") -> String {
        #"{"type":"control_response","response":{"subtype":"success","request_id":"\#(requestID)","response":\#(response)}}"#
    }

    static func controlError(_ requestID: String, _ error: String) -> String {
        #"{"type":"control_response","response":{"subtype":"error","request_id":"\#(requestID)","error":"\#(error)"}}"#
    }
}
