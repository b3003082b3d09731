import AmarreJSON
// claude's control protocol: permission requests and the answers to our own requests.

extension ClaudeCodeAdapter {
    /// `{"type":"control_request","request_id":R,"request":{"subtype":..}}` from claude.
    mutating func handleControlRequest(_ record: JSONValue, line: [UInt8], into out: inout AdapterOutput) {
        guard let requestID = record["request_id"]?.stringValue, let request = record["request"] else {
            out.toClients.append(line)
            return
        }
        guard request["subtype"]?.stringValue == "can_use_tool" else {
            // No hooks or SDK MCP servers are registered, so nothing else should be asked;
            // answer anyway so claude never waits.
            let subtype = request["subtype"]?.stringValue ?? "?"
            out.agent(ClaudeRecord.error(requestID: requestID, "Unsupported control request subtype: \(subtype)"))
            return
        }
        let tool = request["tool_name"]?.stringValue ?? "tool"
        let input = request["input"] ?? [:]
        if tool != "ExitPlanMode", grants.allows(tool) {
            // Allowed for this session: nobody is asked.
            out.agent(ClaudeRecord.allow(requestID: requestID, input: input))
            return
        }
        if tool == "ExitPlanMode", let plan = input["plan"]?.stringValue {
            out.client(PiRecord.planCapture(id: nextID("plan"), plan: plan))
        }
        let id = nextID("ui")
        pendingPermissions[id] = PendingPermission(
            requestID: requestID, toolName: tool, input: input,
            suggestions: request["permission_suggestions"]?.arrayValue ?? [])
        let card = PiRecord.confirm(id: id, title: "Allow \(tool)?", message: ToolInputPreview.text(for: input))
        // A plan is accepted per plan: "for this session" is not offered for ExitPlanMode.
        out.client(tool == "ExitPlanMode" ? card : card.setting("toolName", to: .string(tool)))
    }

    /// A client's `extension_ui_response`: `confirmed: true` allows with the original input,
    /// anything else (false, cancelled, a value) denies. Unknown or already answered ids are ignored.
    mutating func answer(_ response: JSONValue, into out: inout AdapterOutput) {
        guard let id = response["id"]?.stringValue, let pending = pendingPermissions.removeValue(forKey: id) else {
            return
        }
        if response["confirmed"]?.boolValue == true, response["cancelled"]?.boolValue != true {
            guard response["scope"]?.stringValue == "session", pending.toolName != "ExitPlanMode" else {
                out.agent(ClaudeRecord.allow(requestID: pending.requestID, input: pending.input))
                return
            }
            out.agent(ClaudeRecord.allow(
                requestID: pending.requestID, input: pending.input,
                updatedPermissions: ClaudeRecord.sessionPermissions(pending.suggestions)))
            if grants.allow(pending.toolName) {
                if askedAgain.contains(pending.toolName) {
                    askedAgain.removeAll { $0 == pending.toolName }
                    sendControl(ClaudeRecord.askRules(askedAgain), for: .quiet, into: &out)
                }
                out.client(grants.record)
            }
        } else {
            out.agent(ClaudeRecord.deny(requestID: pending.requestID, message: Self.denialMessage))
        }
    }

    /// `control_cancel_request`: claude gave up on a question (after an interrupt). It is
    /// forgotten, so a late answer is not sent, and withdrawn for clients; the record passes
    /// through.
    mutating func handleControlCancel(_ record: JSONValue, line: [UInt8], into out: inout AdapterOutput) {
        if let requestID = record["request_id"]?.stringValue,
            let id = pendingPermissions.first(where: { $0.value.requestID == requestID })?.key
        {
            pendingPermissions.removeValue(forKey: id)
            out.withdrawn.append(id)
        }
        out.toClients.append(line)
    }

    /// `control_response`: the answer to one of our requests is consumed and becomes the pi
    /// response of the command that caused it; others pass through.
    mutating func handleControlResponse(_ record: JSONValue, line: [UInt8], into out: inout AdapterOutput) {
        guard let response = record["response"], let requestID = response["request_id"]?.stringValue,
            let purpose = pendingControls.removeValue(forKey: requestID)
        else {
            out.toClients.append(line)
            return
        }
        let success = response["subtype"]?.stringValue == "success"
        let error = response["error"]?.stringValue ?? "claude refused the request"
        switch purpose {
        case .initialize:
            if success {
                commands = response["response"]?["commands"]?.arrayValue ?? []
                claudeModels = response["response"]?["models"]?.arrayValue ?? []
                if let mode = response["response"]?["current_permission_mode"]?.stringValue { permissionMode = mode }
            } else {
                out.toClients.append(line)
            }
            initialized = true
            answerWaitingForInitialize(into: &out)
        case .command(let type, let id):
            out.client(success ? PiRecord.response(id: id, command: type) : PiRecord.failure(id: id, command: type, error))
        case .setPermissionMode(let mode, let id):
            if success {
                permissionMode = mode
                out.client(PiRecord.response(id: id, command: "set_permission_mode", data: ["mode": .string(mode)]))
            } else {
                out.client(PiRecord.failure(id: id, command: "set_permission_mode", error))
            }
        case .quiet:
            return
        case .setModel(let modelID, let id):
            if success {
                model = modelID
                out.client(PiRecord.response(id: id, command: "set_model", data: PiRecord.model(modelID)))
            } else {
                out.client(PiRecord.failure(id: id, command: "set_model", error))
            }
        }
    }
}
