import AmarreAgents
import AmarreJSON

// The pi RPC records the demo agent writes that the claude-code adapter does not (the rest are
// AmarreAgents' `PiRecord` builders).

extension PiRecord {
    static func agentEnd(messages: [JSONValue]) -> JSONValue {
        ["type": "agent_end", "messages": .array(messages)]
    }

    /// A `message_update` without the `message` snapshot: the `/flood` and `/big` records, which
    /// must stay small or have exactly one large field.
    static func messageUpdate(_ event: JSONValue) -> JSONValue {
        ["type": "message_update", "assistantMessageEvent": event]
    }

    static func toolExecutionUpdate(_ call: DemoToolCall, partialOutput: String) -> JSONValue {
        [
            "type": "tool_execution_update",
            "toolCallId": .string(call.id),
            "toolName": .string(call.name),
            "args": call.arguments,
            "partialResult": ["content": [text(partialOutput)]],
        ]
    }

    /// Emitted by `/crash` just before the process exits.
    static func extensionError(_ error: String) -> JSONValue {
        ["type": "extension_error", "extensionPath": "amarre-demo-agent", "event": "crash", "error": .string(error)]
    }

    /// pi's text content block.
    static func text(_ text: String) -> JSONValue {
        ["type": "text", "text": .string(text)]
    }
}
