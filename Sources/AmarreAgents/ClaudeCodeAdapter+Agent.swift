import AmarreJSON
// claude's stdout (stream-json) → pi-shaped events.

extension ClaudeCodeAdapter {
    /// How many finished streamed message ids are remembered to skip their `assistant` records.
    static let rememberedStreamedMessages = 32

    mutating func handleAgent(_ line: [UInt8], into out: inout AdapterOutput) {
        guard let record = JSONValue.parse(line), let type = record["type"]?.stringValue else {
            out.toClients.append(line)
            return
        }
        // A sub-agent's messages (Task tool) are not part of this conversation's turns.
        let fromSubagent = !(record["parent_tool_use_id"]?.isNull ?? true)
        switch type {
        case "system" where record["subtype"]?.stringValue == "init":
            if let session = record["session_id"]?.stringValue { resumeToken = session }
            if let name = record["model"]?.stringValue { model = name }
            if let mode = record["permissionMode"]?.stringValue { permissionMode = mode }
            out.toClients.append(line)
        case "system" where record["subtype"]?.stringValue == "status":
            // claude says when its permission mode changes (set_permission_mode, plan mode's end).
            if let mode = record["permissionMode"]?.stringValue { permissionMode = mode }
            out.toClients.append(line)
        case "stream_event" where !fromSubagent:
            handleStreamEvent(record["event"] ?? [:], into: &out)
        case "assistant" where !fromSubagent:
            handleAssistant(record["message"] ?? [:], into: &out)
        case "user" where !fromSubagent:
            handleUser(record, line: line, into: &out)
        case "result":
            handleResult(record, line: line, into: &out)
        case "control_request":
            handleControlRequest(record, line: line, into: &out)
        case "control_response":
            handleControlResponse(record, line: line, into: &out)
        case "control_cancel_request":
            handleControlCancel(record, line: line, into: &out)
        default:
            out.toClients.append(line)
        }
    }

    // MARK: Runs and turns

    /// Announces a run (`agent_start`, `turn_start`) unless one is going.
    mutating func beginRunIfIdle(into out: inout AdapterOutput) {
        guard run == nil else { return }
        run = Run(messages: ConversationHistory(maxBytes: limits.maxHistoryBytes))
        out.client(PiRecord.agentStart)
        out.client(PiRecord.turnStart)
    }

    /// Starts receiving a new assistant message; a message after a finished one opens a new turn.
    private mutating func openAssistant(
        messageID: String?, streamed: Bool, model name: String?, usage: JSONValue?, into out: inout AdapterOutput
    ) {
        beginRunIfIdle(into: &out)
        finishDraft(into: &out)
        if run?.turnMessage != nil || run?.turnOpen == false {
            closeTurn(into: &out)
            out.client(PiRecord.turnStart)
            run?.turnOpen = true
        }
        if let name { model = name }
        var draft = AssistantDraft(messageID: messageID, streamed: streamed, model: model, timestamp: now)
        draft.mergeUsage(usage)
        self.draft = draft
        out.client(PiRecord.messageStart(draft.message()))
        out.client(PiRecord.messageUpdate(["type": "start"], message: draft.message()))
    }

    private mutating func closeTurn(into out: inout AdapterOutput) {
        guard let run, run.turnOpen else { return }
        out.client(PiRecord.turnEnd(message: run.turnMessage, toolResults: run.turnToolResults))
        self.run?.turnOpen = false
        self.run?.turnMessage = nil
        self.run?.turnToolResults = []
    }

    /// Ends the message being received: `done` (or `error` when aborted or failed) and `message_end`.
    private mutating func finishDraft(
        stopReason: String? = nil, errorMessage: String? = nil, into out: inout AdapterOutput
    ) {
        guard let draft else { return }
        self.draft = nil
        let reason = stopReason ?? draft.piStopReason
        let failed = reason == "aborted" || reason == "error"
        let message = draft.message(
            stopReason: reason, errorMessage: failed ? errorMessage ?? "Request was aborted" : nil)
        out.client(PiRecord.messageUpdate(
            ["type": failed ? "error" : "done", "reason": .string(reason)], message: message))
        out.client(PiRecord.messageEnd(message))
        commit(message)
        run?.turnMessage = message
        if draft.streamed, let id = draft.messageID {
            finishedStreamedMessages.append(id)
            if finishedStreamedMessages.count > Self.rememberedStreamedMessages {
                finishedStreamedMessages.removeFirst()
            }
        }
    }

    /// Emits one step of the draft as a `message_update` with the message so far.
    private mutating func update(_ event: JSONValue?, into out: inout AdapterOutput) {
        guard let event, let draft else { return }
        out.client(PiRecord.messageUpdate(event, message: draft.message()))
    }

    /// Closes a block; a complete tool call also starts its execution.
    private mutating func endBlock(index: Int?, arguments: JSONValue? = nil, into out: inout AdapterOutput) {
        guard let (event, toolCall) = draft?.end(index: index, arguments: arguments) else { return }
        update(event, into: &out)
        if let toolCall {
            startTool(id: toolCall.toolID, name: toolCall.toolName, args: toolCall.arguments ?? [:], into: &out)
        }
    }

    private mutating func startTool(id: String, name: String, args: JSONValue, into out: inout AdapterOutput) {
        guard !runningTools.contains(where: { $0.id == id }) else { return }
        runningTools.append((id, name))
        toolNames[id] = name
        out.client(PiRecord.toolExecutionStart(id: id, name: name, args: args))
    }

    // MARK: Partial messages

    /// One Anthropic streaming event (`message_start`, `content_block_*`, `message_delta`, `message_stop`).
    private mutating func handleStreamEvent(_ event: JSONValue, into out: inout AdapterOutput) {
        let index = event["index"]?.intValue
        switch event["type"]?.stringValue {
        case "message_start":
            let message = event["message"] ?? [:]
            openAssistant(
                messageID: message["id"]?.stringValue, streamed: true, model: message["model"]?.stringValue,
                usage: message["usage"], into: &out)
        case "content_block_start":
            guard draft?.streamed == true, let index, let block = event["content_block"] else { return }
            switch block["type"]?.stringValue {
            case "text":
                update(draft?.start(.text, index: index), into: &out)
                if let text = block["text"]?.stringValue, !text.isEmpty {
                    update(draft?.append(text, index: index), into: &out)
                }
            case "thinking":
                update(draft?.start(.thinking, index: index), into: &out)
            case "tool_use":
                let id = block["id"]?.stringValue ?? ""
                let name = block["name"]?.stringValue ?? ""
                update(draft?.start(.toolCall, index: index, toolID: id, toolName: name), into: &out)
            default:
                return
            }
        case "content_block_delta":
            guard draft?.streamed == true, let index, let delta = event["delta"] else { return }
            let text: String?
            switch delta["type"]?.stringValue {
            case "text_delta": text = delta["text"]?.stringValue
            case "thinking_delta": text = delta["thinking"]?.stringValue
            case "input_json_delta": text = delta["partial_json"]?.stringValue
            default: text = nil
            }
            if let text { update(draft?.append(text, index: index), into: &out) }
        case "content_block_stop":
            guard draft?.streamed == true, let index else { return }
            endBlock(index: index, into: &out)
        case "message_delta":
            if let reason = event["delta"]?["stop_reason"]?.stringValue { draft?.stopReason = reason }
            draft?.mergeUsage(event["usage"])
        case "message_stop":
            // An interrupt cuts the message off: claude then sends a null stop_reason and
            // message_stop before its result.
            let cutOff = run?.interrupted == true && draft?.stopReason == nil
            if draft?.streamed == true { finishDraft(stopReason: cutOff ? "aborted" : nil, into: &out) }
        default:
            return
        }
    }

    // MARK: Complete messages

    /// A complete `assistant` record: skipped when its message was streamed, otherwise rendered
    /// block by block (claude writes one record per content block, with the same message id).
    private mutating func handleAssistant(_ message: JSONValue, into out: inout AdapterOutput) {
        let id = message["id"]?.stringValue
        if let id, finishedStreamedMessages.contains(id) || (draft?.streamed == true && draft?.messageID == id) {
            return
        }
        if draft == nil || draft?.streamed == true || draft?.messageID != id || id == nil {
            openAssistant(
                messageID: id, streamed: false, model: message["model"]?.stringValue, usage: message["usage"], into: &out)
        } else {
            draft?.mergeUsage(message["usage"])
        }
        if let reason = message["stop_reason"]?.stringValue { draft?.stopReason = reason }
        for block in message["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text":
                update(draft?.start(.text, index: nil), into: &out)
                update(draft?.append(block["text"]?.stringValue ?? "", index: nil), into: &out)
                endBlock(index: nil, into: &out)
            case "thinking":
                update(draft?.start(.thinking, index: nil), into: &out)
                update(draft?.append(block["thinking"]?.stringValue ?? "", index: nil), into: &out)
                endBlock(index: nil, into: &out)
            case "tool_use":
                let input = block["input"] ?? [:]
                let toolID = block["id"]?.stringValue ?? ""
                let name = block["name"]?.stringValue ?? ""
                update(draft?.start(.toolCall, index: nil, toolID: toolID, toolName: name), into: &out)
                update(draft?.append(input.jsonText, index: nil), into: &out)
                endBlock(index: nil, arguments: input, into: &out)
            default:
                continue
            }
        }
    }

    /// A `user` record: its `tool_result` blocks end tool executions; one without passes through.
    private mutating func handleUser(_ record: JSONValue, line: [UInt8], into out: inout AdapterOutput) {
        let results = (record["message"]?["content"]?.arrayValue ?? []).filter {
            $0["type"]?.stringValue == "tool_result"
        }
        guard !results.isEmpty else {
            out.toClients.append(line)
            return
        }
        beginRunIfIdle(into: &out)
        finishDraft(into: &out)
        for result in results {
            let id = result["tool_use_id"]?.stringValue ?? ""
            let isError = result["is_error"]?.boolValue ?? false
            endTool(id: id, content: ClaudeRecord.piContent(result["content"]), isError: isError, into: &out)
        }
    }

    private mutating func endTool(id: String, content: [JSONValue], isError: Bool, into out: inout AdapterOutput) {
        let name = toolNames.removeValue(forKey: id) ?? "unknown"
        runningTools.removeAll { $0.id == id }
        out.client(PiRecord.toolExecutionEnd(id: id, name: name, content: content, isError: isError))
        let message = PiRecord.toolResultMessage(id: id, name: name, content: content, isError: isError, timestamp: now)
        out.client(PiRecord.messageStart(message))
        out.client(PiRecord.messageEnd(message))
        commit(message)
        run?.turnToolResults.append(message)
    }

    // MARK: End of a run

    /// `result`: ends the run (`message_end`, `turn_end`, `agent_end` with usage and cost), then
    /// sends the next queued message.
    private mutating func handleResult(_ record: JSONValue, line: [UInt8], into out: inout AdapterOutput) {
        if let session = record["session_id"]?.stringValue { resumeToken = session }
        guard let run else {
            out.toClients.append(line)
            deliverNextQueued(into: &out)
            return
        }
        let isError = record["is_error"]?.boolValue == true
        let errorMessage = isError ? record["result"]?.stringValue ?? record["subtype"]?.stringValue : nil
        let stopReason: String? = run.interrupted ? "aborted" : (isError ? "error" : nil)
        finishDraft(stopReason: stopReason, errorMessage: errorMessage, into: &out)
        for tool in runningTools {
            let text = run.interrupted ? "Tool execution was aborted" : "Tool execution ended without a result"
            endTool(id: tool.id, content: [["type": "text", "text": .string(text)]], isError: true, into: &out)
        }
        closeTurn(into: &out)
        let cost = record["total_cost_usd"]?.doubleValue
        let messages = self.run?.messages.messages ?? []
        out.client(.object(dropping: [
            "type": "agent_end",
            "messages": .array(messages),
            "usage": PiRecord.usage(claude: record["usage"], totalCost: cost),
            "cost": cost.map(JSONValue.double),
            "stopReason": stopReason.map(JSONValue.string),
            "errorMessage": errorMessage.map(JSONValue.string),
        ]))
        self.run = nil
        // claude has finished the run: questions it asked during it can no longer be answered.
        pendingPermissions.removeAll()
        deliverNextQueued(into: &out)
    }
}
