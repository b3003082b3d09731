import AmarreJSON
/// Builders for what the claude-code adapter writes to `claude`'s stdin in stream-json mode:
/// user messages and the control protocol (as claude-agent-sdk's `_internal/query.py` speaks it).
enum ClaudeRecord {
    /// `{"type":"user","message":{"role":"user","content":[...]},"parent_tool_use_id":null}`.
    static func userMessage(content: [JSONValue]) -> JSONValue {
        [
            "type": "user",
            "message": ["role": "user", "content": .array(content)],
            "parent_tool_use_id": .null,
        ]
    }

    /// `{"type":"control_request","request_id":..,"request":{"subtype":..,...}}`.
    static func controlRequest(id: String, _ request: JSONValue) -> JSONValue {
        ["type": "control_request", "request_id": .string(id), "request": request]
    }

    static let initialize: JSONValue = ["subtype": "initialize", "hooks": .null]
    static let interrupt: JSONValue = ["subtype": "interrupt"]

    static func setModel(_ model: String) -> JSONValue {
        ["subtype": "set_model", "model": .string(model)]
    }

    static func setPermissionMode(_ mode: String) -> JSONValue {
        ["subtype": "set_permission_mode", "mode": .string(mode)]
    }

    /// Flag settings that make claude ask again before these tools (an `ask` rule wins over the
    /// session's allow rules).
    static func askRules(_ tools: [String]) -> JSONValue {
        ["subtype": "apply_flag_settings", "settings": ["permissions": ["ask": .array(tools.map(JSONValue.string))]]]
    }

    /// The answer to a `can_use_tool` request that lets the tool run with its original input;
    /// `updatedPermissions` (claude's own suggestions, kept for this session only) make claude
    /// stop asking for what they cover.
    static func allow(requestID: String, input: JSONValue, updatedPermissions: [JSONValue] = []) -> JSONValue {
        if updatedPermissions.isEmpty {
            return success(requestID: requestID, ["behavior": "allow", "updatedInput": input])
        }
        return success(
            requestID: requestID,
            ["behavior": "allow", "updatedInput": input, "updatedPermissions": .array(updatedPermissions)])
    }

    /// claude's `permission_suggestions` that allow rules, each kept for this session only (never written to the
    /// user's or the project's settings files); entries that are not objects are dropped.
    ///
    /// Only rules are taken (`addRules`): claude also suggests `setMode` `acceptEdits` and
    /// `addDirectories`, which would let every later edit run unasked, far more than the one
    /// tool the person allowed.
    static func sessionPermissions(_ suggestions: [JSONValue]) -> [JSONValue] {
        suggestions
            .filter { $0.isObject && $0["type"]?.stringValue == "addRules" && $0["behavior"]?.stringValue == "allow" }
            .map { $0.setting("destination", to: "session") }
    }

    /// The answer to a `can_use_tool` request that refuses the tool; claude tells the model `message`.
    static func deny(requestID: String, message: String) -> JSONValue {
        success(requestID: requestID, ["behavior": "deny", "message": .string(message)])
    }

    /// The answer to a control request the adapter does not serve (hooks, SDK MCP servers).
    static func error(requestID: String, _ message: String) -> JSONValue {
        [
            "type": "control_response",
            "response": ["subtype": "error", "request_id": .string(requestID), "error": .string(message)],
        ]
    }

    private static func success(requestID: String, _ response: JSONValue) -> JSONValue {
        [
            "type": "control_response",
            "response": ["subtype": "success", "request_id": .string(requestID), "response": response],
        ]
    }

    /// pi's `images` (`{"type":"image","data","mimeType"}`) as Anthropic image blocks.
    static func imageBlock(fromPi image: JSONValue) -> JSONValue? {
        guard let data = image["data"]?.stringValue else { return nil }
        let mediaType = image["mimeType"]?.stringValue ?? "image/png"
        return ["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]]
    }

    /// Anthropic content blocks (`text`, `image`) as pi content blocks, for tool results.
    static func piContent(_ content: JSONValue?) -> [JSONValue] {
        switch content {
        case .string(let text)?:
            return [["type": "text", "text": .string(text)]]
        case .array(let blocks)?:
            return blocks.compactMap { block in
                switch block["type"]?.stringValue {
                case "text":
                    return ["type": "text", "text": block["text"] ?? ""]
                case "image":
                    guard let source = block["source"], let data = source["data"]?.stringValue else { return nil }
                    return [
                        "type": "image", "data": .string(data),
                        "mimeType": source["media_type"] ?? "image/png",
                    ]
                default:
                    return nil
                }
            }
        default:
            return []
        }
    }
}
