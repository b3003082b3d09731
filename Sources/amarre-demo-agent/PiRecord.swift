/// Builders for the records of pi's RPC mode (`pi --mode rpc`), one JSON object per stdout line.
/// Responses carry the command's `id` when it had one; events never do.
enum PiRecord {
    // MARK: Responses

    static func response(
        id: JSONValue?, command: String, success: Bool = true, data: JSONValue? = nil, error: String? = nil
    ) -> JSONValue {
        .object(dropping: [
            "id": id,
            "type": "response",
            "command": .string(command),
            "success": .bool(success),
            "data": data,
            "error": error.map(JSONValue.string),
        ])
    }

    static func failure(id: JSONValue?, command: String, _ error: String) -> JSONValue {
        response(id: id, command: command, success: false, error: error)
    }

    // MARK: Agent loop events

    static let agentStart: JSONValue = ["type": "agent_start"]
    static let turnStart: JSONValue = ["type": "turn_start"]

    static func agentEnd(messages: [JSONValue]) -> JSONValue {
        ["type": "agent_end", "messages": .array(messages)]
    }

    static func turnEnd(message: JSONValue, toolResults: [JSONValue]) -> JSONValue {
        ["type": "turn_end", "message": message, "toolResults": .array(toolResults)]
    }

    static func messageStart(_ message: JSONValue) -> JSONValue {
        ["type": "message_start", "message": message]
    }

    static func messageEnd(_ message: JSONValue) -> JSONValue {
        ["type": "message_end", "message": message]
    }

    /// `message` is the assistant message so far; `nil` leaves it out (the `/flood` and `/big`
    /// records, which must stay small or have exactly one large field).
    static func messageUpdate(_ event: JSONValue, message: JSONValue?) -> JSONValue {
        .object(dropping: ["type": "message_update", "assistantMessageEvent": event, "message": message])
    }

    static func queueUpdate(steering: [String], followUp: [String]) -> JSONValue {
        [
            "type": "queue_update",
            "steering": .array(steering.map(JSONValue.string)),
            "followUp": .array(followUp.map(JSONValue.string)),
        ]
    }

    // MARK: Tools

    static func toolExecutionStart(_ call: DemoToolCall) -> JSONValue {
        [
            "type": "tool_execution_start",
            "toolCallId": .string(call.id),
            "toolName": .string(call.name),
            "args": call.arguments,
        ]
    }

    static func toolExecutionUpdate(_ call: DemoToolCall, partialOutput: String) -> JSONValue {
        [
            "type": "tool_execution_update",
            "toolCallId": .string(call.id),
            "toolName": .string(call.name),
            "args": call.arguments,
            "partialResult": textResult(partialOutput),
        ]
    }

    static func toolExecutionEnd(_ call: DemoToolCall, output: String, isError: Bool) -> JSONValue {
        [
            "type": "tool_execution_end",
            "toolCallId": .string(call.id),
            "toolName": .string(call.name),
            "result": textResult(output),
            "isError": .bool(isError),
        ]
    }

    /// What pi's permission gate extension sends for every tool call: `ctx.ui.confirm(...)`.
    static func confirmRequest(id: String, call: DemoToolCall) -> JSONValue {
        [
            "type": "extension_ui_request",
            "id": .string(id),
            "method": "confirm",
            "title": .string("Run \(call.name)?"),
            "message": .string(call.confirmMessage),
        ]
    }

    /// Emitted by `/crash` just before the process exits.
    static func extensionError(_ error: String) -> JSONValue {
        ["type": "extension_error", "extensionPath": "amarre-demo-agent", "event": "crash", "error": .string(error)]
    }

    // MARK: Messages

    static func userMessage(_ text: String, timestamp: Int64) -> JSONValue {
        [
            "role": "user",
            "content": [["type": "text", "text": .string(text)]],
            "timestamp": .int(Int(timestamp)),
        ]
    }

    static func toolResultMessage(_ call: DemoToolCall, output: String, isError: Bool, timestamp: Int64) -> JSONValue {
        [
            "role": "toolResult",
            "toolCallId": .string(call.id),
            "toolName": .string(call.name),
            "content": [["type": "text", "text": .string(output)]],
            "isError": .bool(isError),
            "timestamp": .int(Int(timestamp)),
        ]
    }

    private static func textResult(_ text: String) -> JSONValue {
        ["content": [["type": "text", "text": .string(text)]]]
    }
}
