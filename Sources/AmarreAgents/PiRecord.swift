public import AmarreJSON
/// Builders for the records of pi's RPC mode (`pi --mode rpc`) that the claude-code adapter
/// writes to clients (and amarre-demo-agent to its stdout). Responses carry the command's `id`
/// when it had one; events never do.
public enum PiRecord {
    // MARK: Responses

    public static func response(
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

    public static func failure(id: JSONValue?, command: String, _ error: String) -> JSONValue {
        response(id: id, command: command, success: false, error: error)
    }

    // MARK: Agent loop events

    public static let agentStart: JSONValue = ["type": "agent_start"]
    public static let turnStart: JSONValue = ["type": "turn_start"]

    public static func turnEnd(message: JSONValue?, toolResults: [JSONValue]) -> JSONValue {
        ["type": "turn_end", "message": message ?? .null, "toolResults": .array(toolResults)]
    }

    public static func messageStart(_ message: JSONValue) -> JSONValue {
        ["type": "message_start", "message": message]
    }

    public static func messageEnd(_ message: JSONValue) -> JSONValue {
        ["type": "message_end", "message": message]
    }

    /// `event` is pi's `assistantMessageEvent`; `message` the assistant message so far.
    public static func messageUpdate(_ event: JSONValue, message: JSONValue) -> JSONValue {
        ["type": "message_update", "assistantMessageEvent": event, "message": message]
    }

    public static func queueUpdate(steering: [String], followUp: [String]) -> JSONValue {
        [
            "type": "queue_update",
            "steering": .array(steering.map(JSONValue.string)),
            "followUp": .array(followUp.map(JSONValue.string)),
        ]
    }

    // MARK: Tools

    public static func toolExecutionStart(id: String, name: String, args: JSONValue) -> JSONValue {
        ["type": "tool_execution_start", "toolCallId": .string(id), "toolName": .string(name), "args": args]
    }

    public static func toolExecutionEnd(id: String, name: String, content: [JSONValue], isError: Bool) -> JSONValue {
        [
            "type": "tool_execution_end",
            "toolCallId": .string(id),
            "toolName": .string(name),
            "result": ["content": .array(content)],
            "isError": .bool(isError),
        ]
    }

    // MARK: Extension UI

    public static func confirm(id: String, title: String, message: String) -> JSONValue {
        [
            "type": "extension_ui_request",
            "id": .string(id),
            "method": "confirm",
            "title": .string(title),
            "message": .string(message),
        ]
    }

    /// A fire-and-forget notice carrying a plan claude proposes (ExitPlanMode); clients that do
    /// not know `event` still show `message`.
    static func planCapture(id: String, plan: String) -> JSONValue {
        [
            "type": "extension_ui_request",
            "id": .string(id),
            "method": "notify",
            "message": "Claude proposes a plan",
            "notifyType": "info",
            "event": "plan_capture",
            "plan": .string(plan),
        ]
    }

    // MARK: Messages

    public static func userMessage(content: [JSONValue], timestamp: Int64?) -> JSONValue {
        .object(dropping: [
            "role": "user",
            "content": .array(content),
            "timestamp": timestamp.map { .int(Int($0)) },
        ])
    }

    public static func toolResultMessage(
        id: String, name: String, content: [JSONValue], isError: Bool, timestamp: Int64?
    ) -> JSONValue {
        .object(dropping: [
            "role": "toolResult",
            "toolCallId": .string(id),
            "toolName": .string(name),
            "content": .array(content),
            "isError": .bool(isError),
            "timestamp": timestamp.map { .int(Int($0)) },
        ])
    }

    /// pi's `AssistantMessage`; `errorMessage` and `timestamp` are left out when nil.
    public static func assistantMessage(
        content: [JSONValue], api: String, provider: String, model: String, usage: JSONValue,
        stopReason: String, errorMessage: String?, timestamp: Int64?
    ) -> JSONValue {
        .object(dropping: [
            "role": "assistant",
            "content": .array(content),
            "api": .string(api),
            "provider": .string(provider),
            "model": .string(model),
            "usage": usage,
            "stopReason": .string(stopReason),
            "errorMessage": errorMessage.map(JSONValue.string),
            "timestamp": timestamp.map { .int(Int($0)) },
        ])
    }

    /// pi's `toolCall` content block of an assistant message.
    public static func toolCall(id: String, name: String, arguments: JSONValue) -> JSONValue {
        ["type": "toolCall", "id": .string(id), "name": .string(name), "arguments": arguments]
    }

    /// pi's `Model` for a claude model name; pi clients show `name` and `provider`.
    static func model(_ id: String) -> JSONValue {
        ["id": .string(id), "name": .string(id), "api": "anthropic-messages", "provider": "anthropic"]
    }

    /// pi's `Usage` from claude's (`input_tokens`, `output_tokens`, `cache_*_input_tokens`).
    /// Claude reports cost only per result, so `cost.total` is `totalCost` when given, else 0.
    static func usage(claude usage: JSONValue?, totalCost: Double? = nil) -> JSONValue {
        let input = usage?["input_tokens"]?.intValue ?? 0
        let output = usage?["output_tokens"]?.intValue ?? 0
        let cacheRead = usage?["cache_read_input_tokens"]?.intValue ?? 0
        let cacheWrite = usage?["cache_creation_input_tokens"]?.intValue ?? 0
        return [
            "input": .int(input),
            "output": .int(output),
            "cacheRead": .int(cacheRead),
            "cacheWrite": .int(cacheWrite),
            "totalTokens": .int(input + output + cacheRead + cacheWrite),
            "cost": [
                "input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                "total": totalCost.map(JSONValue.double) ?? 0,
            ],
        ]
    }
}
