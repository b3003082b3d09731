import AmarreJSON
// Client commands (pi RPC) → claude's stdin and pi responses.

extension ClaudeCodeAdapter {
    mutating func handleClient(_ line: [UInt8], into out: inout AdapterOutput) {
        guard let command = JSONValue.parse(line), command.isObject, let type = command["type"]?.stringValue else {
            let id = JSONValue.parse(line)?["id"]
            out.client(PiRecord.failure(
                id: id, command: "parse", "Failed to parse command: expected an object with a string \"type\""))
            return
        }
        let id = command["id"]
        switch type {
        case "prompt":
            let steer = command["streamingBehavior"]?.stringValue == "steer"
            submit(command, type: type, id: id, steer: steer, into: &out)
        case "steer":
            submit(command, type: type, id: id, steer: true, into: &out)
        case "follow_up":
            submit(command, type: type, id: id, steer: false, into: &out)
        case "abort":
            abort(id: id, into: &out)
        case "get_state":
            out.client(PiRecord.response(id: id, command: type, data: state))
        case "get_messages":
            out.client(PiRecord.response(id: id, command: type, data: ["messages": .array(history.messages)]))
        case "get_commands" where !initialized, "get_available_models" where !initialized && configuredModels == nil:
            // claude lists its commands and models in its answer to `initialize`: asked
            // before that arrives, the question waits for it.
            guard waitingForInitialize.count < limits.maxQueuedMessages else {
                out.client(PiRecord.failure(id: id, command: type, "claude has not started yet; ask again"))
                return
            }
            waitingForInitialize.append((type, id))
        case "get_commands":
            out.client(PiRecord.response(id: id, command: type, data: ["commands": .array(piCommands)]))
        case "set_model":
            guard let modelID = command["modelId"]?.stringValue, !modelID.isEmpty else {
                out.client(PiRecord.failure(id: id, command: type, "set_model needs a \"modelId\" string"))
                return
            }
            sendControl(ClaudeRecord.setModel(modelID), for: .setModel(modelID, id: id), into: &out)
        case "get_available_models":
            out.client(PiRecord.response(id: id, command: type, data: ["models": .array(availableModels)]))
        case "set_permission_mode":
            setPermissionMode(command["mode"]?.stringValue, id: id, into: &out)
        case "revoke_tool_permission":
            revoke(command["toolName"]?.stringValue, id: id, into: &out)
        case "extension_ui_response":
            answer(command, into: &out)
        default:
            out.client(PiRecord.failure(id: id, command: type, "\(type) is not supported for claude-code"))
        }
    }

    /// `prompt`, `steer`, `follow_up`: sent now when idle or when steering, queued otherwise.
    private mutating func submit(
        _ command: JSONValue, type: String, id: JSONValue?, steer: Bool, into out: inout AdapterOutput
    ) {
        guard let text = command["message"]?.stringValue else {
            out.client(PiRecord.failure(id: id, command: type, "\(type) needs a \"message\" string"))
            return
        }
        let message = QueuedMessage(text: text, images: command["images"]?.arrayValue ?? [])
        if isBusy && !steer {
            guard queue.count < limits.maxQueuedMessages else {
                out.client(PiRecord.failure(
                    id: id, command: type, "Too many queued messages (\(limits.maxQueuedMessages)); wait for the agent"))
                return
            }
            queue.append(message)
            out.client(PiRecord.response(id: id, command: type))
            out.client(queueUpdate)
            return
        }
        out.client(PiRecord.response(id: id, command: type))
        deliver(message, into: &out)
    }

    /// Writes a user message to claude, starting a run when none is going.
    mutating func deliver(_ message: QueuedMessage, into out: inout AdapterOutput) {
        beginRunIfIdle(into: &out)
        let images = message.images.filter { $0["data"]?.stringValue != nil }
        let piImages: [JSONValue] = images.map { image in
            ["type": "image", "data": image["data"] ?? "", "mimeType": image["mimeType"] ?? "image/png"]
        }
        let user = PiRecord.userMessage(
            content: [["type": "text", "text": .string(message.text)]] + piImages, timestamp: now)
        out.client(PiRecord.messageStart(user))
        out.client(PiRecord.messageEnd(user))
        commit(user)
        let text: JSONValue = ["type": "text", "text": .string(message.text)]
        out.agent(ClaudeRecord.userMessage(content: images.compactMap(ClaudeRecord.imageBlock(fromPi:)) + [text]))
    }

    /// Sends the next queued message, if any, once a run has ended.
    mutating func deliverNextQueued(into out: inout AdapterOutput) {
        guard !isBusy, !queue.isEmpty else { return }
        let message = queue.removeFirst()
        out.client(queueUpdate)
        deliver(message, into: &out)
    }

    private mutating func abort(id: JSONValue?, into out: inout AdapterOutput) {
        run?.interrupted = true
        sendControl(ClaudeRecord.interrupt, for: .command("abort", id: id), into: &out)
        if !queue.isEmpty {
            queue.removeAll()
            out.client(queueUpdate)
        }
    }

    /// The permission modes a client may choose: claude's, `bypassPermissions` only when the
    /// instance allows it.
    var permissionModes: [String] {
        ["default", "acceptEdits", "plan"] + (allowBypass ? ["bypassPermissions"] : [])
    }

    private mutating func setPermissionMode(_ mode: String?, id: JSONValue?, into out: inout AdapterOutput) {
        let type = "set_permission_mode"
        guard let mode else {
            out.client(PiRecord.failure(id: id, command: type, "set_permission_mode needs a \"mode\" string"))
            return
        }
        guard permissionModes.contains(mode) else {
            let detail = mode == "bypassPermissions"
                ? "bypassPermissions is not allowed for this instance (\"allowBypass\": true allows it)"
                : "unknown permission mode \(mode); one of \(permissionModes.joined(separator: ", "))"
            out.client(PiRecord.failure(id: id, command: type, detail))
            return
        }
        sendControl(ClaudeRecord.setPermissionMode(mode), for: .setPermissionMode(mode, id: id), into: &out)
    }

    /// Takes back an "allow for this session": later calls of the tool are asked again. claude
    /// was given the request's suggested rules for the session when the grant was made; an
    /// `ask` rule for the tool (flag settings, this process only) makes it ask again.
    private mutating func revoke(_ tool: String?, id: JSONValue?, into out: inout AdapterOutput) {
        let type = "revoke_tool_permission"
        guard let tool else {
            out.client(PiRecord.failure(id: id, command: type, "revoke_tool_permission needs a \"toolName\" string"))
            return
        }
        guard grants.revoke(tool) else {
            out.client(PiRecord.failure(id: id, command: type, "\(tool) is not allowed for this session"))
            return
        }
        askedAgain.append(tool)
        sendControl(ClaudeRecord.askRules(askedAgain), for: .quiet, into: &out)
        out.client(PiRecord.response(id: id, command: type))
        out.client(grants.record)
    }

    /// pi's `get_available_models` list: the instance's models, else claude's.
    var availableModels: [JSONValue] {
        if let configuredModels {
            return configuredModels.map { ["provider": "anthropic", "id": .string($0), "name": .string($0)] }
        }
        return claudeModels.compactMap { entry in
            guard let value = entry["value"]?.stringValue else { return nil }
            return .object(dropping: [
                "provider": "anthropic", "id": .string(value), "name": entry["displayName"],
                "description": entry["description"],
            ])
        }
    }

    var queueUpdate: JSONValue {
        PiRecord.queueUpdate(steering: [], followUp: queue.map(\.text))
    }

    /// pi's `get_state` data, from what claude has said so far.
    var state: JSONValue {
        [
            "model": model.map(PiRecord.model) ?? .null,
            "thinkingLevel": "off",
            "isStreaming": .bool(isBusy),
            "isCompacting": false,
            "steeringMode": "all",
            "followUpMode": "one-at-a-time",
            "sessionFile": .null,
            "sessionId": resumeToken.map(JSONValue.string) ?? .null,
            "autoCompactionEnabled": true,
            "messageCount": .int(earlierMessages + history.totalCount),
            "pendingMessageCount": .int(queue.count),
            "permissionMode": .string(permissionMode),
            "permissionModes": .array(permissionModes.map(JSONValue.string)),
            "allowedTools": .array(grants.tools.map(JSONValue.string)),
        ]
    }

    /// Answers the `get_commands` and `get_available_models` that waited for `initialize`.
    mutating func answerWaitingForInitialize(into out: inout AdapterOutput) {
        let waiting = waitingForInitialize
        waitingForInitialize = []
        for (type, id) in waiting {
            let data: JSONValue = type == "get_commands" ? ["commands": .array(piCommands)] : ["models": .array(availableModels)]
            out.client(PiRecord.response(id: id, command: type, data: data))
        }
    }

    /// claude's slash commands in pi's `get_commands` shape; send them as prompts (`/name`).
    private var piCommands: [JSONValue] {
        commands.compactMap { command in
            guard let name = command["name"]?.stringValue else { return nil }
            return .object(dropping: ["name": .string(name), "description": command["description"], "source": "extension"])
        }
    }
}
