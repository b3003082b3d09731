import AmarreAgents
import AmarreJSON

/// The demo agent as a pure state machine: it takes command lines and clock ticks and returns the
/// effects to perform. It never reads a clock or does I/O; `DemoDriver` does both.
///
/// Commands are answered at once (`receive`); a run is a schedule of `DemoStep`s that the driver
/// takes one by one (`nextStep`, `advance`) after each step's delay.
struct DemoAgent: Sendable {
    let sessionID: String

    // The state below is shared with DemoAgent+Steps.swift; only this type's methods change it.

    /// Every message of the conversation so far, as `get_messages` returns them.
    var conversation: [JSONValue] = []
    /// Rough size of the conversation, for the usage estimate.
    var contextCharacters = 0
    var run: DemoRun?
    var steering: [String] = []
    var followUps: [String] = []
    /// What the current run does next, head first.
    var schedule: [ScheduledStep] = []
    var nextSerial = 0
    var toolCallCount = 0
    var permissionCount = 0

    init(sessionID: String) {
        self.sessionID = sessionID
    }

    /// Steering and follow-up messages that may wait at once; more are refused.
    static let maxQueuedMessages = 100

    var isStreaming: Bool { run != nil }

    /// The step to take next and the pause before it; `nil` when idle or waiting for a permission answer.
    var nextStep: (serial: Int, delay: Duration)? {
        schedule.first.map { ($0.serial, $0.delay) }
    }

    // MARK: Commands

    /// Handles one line of stdin (without its line ending).
    mutating func receive(_ line: [UInt8], now: Int64) -> [DemoEffect] {
        guard line.contains(where: { ![0x20, 0x09, 0x0d].contains($0) }) else { return [] }
        guard let command = JSONValue.parse(line) else {
            return [.emit(PiRecord.failure(id: nil, command: "parse", "Failed to parse command: not valid JSON"))]
        }
        guard let type = command["type"]?.stringValue else {
            return [.emit(PiRecord.failure(
                id: command["id"], command: "parse",
                "Failed to parse command: expected an object with a string \"type\""))]
        }
        let id = command["id"]
        switch type {
        case "get_state":
            return [.emit(PiRecord.response(id: id, command: type, data: state))]
        case "get_messages":
            return [.emit(PiRecord.response(id: id, command: type, data: ["messages": .array(conversation)]))]
        case "get_commands":
            let commands = SpecialPrompt.commands.map { command -> JSONValue in
                ["name": .string(command.name), "description": .string(command.description), "source": "extension"]
            }
            return [.emit(PiRecord.response(id: id, command: type, data: ["commands": .array(commands)]))]
        case "prompt":
            return prompt(command, id: id)
        case "steer", "follow_up":
            guard let message = command["message"]?.stringValue else {
                return [.emit(PiRecord.failure(id: id, command: type, "\(type) needs a \"message\" string"))]
            }
            return enqueue(message, steer: type == "steer", id: id, command: type)
        case "abort":
            return abort(now: now) + [.emit(PiRecord.response(id: id, command: type))]
        case "extension_ui_response":
            answerPermission(command)
            return []
        default:
            return [.emit(PiRecord.failure(id: id, command: type, "Unknown command: \(type)"))]
        }
    }

    private var state: JSONValue {
        [
            "model": DemoModel.json,
            "thinkingLevel": "off",
            "isStreaming": .bool(isStreaming),
            "isCompacting": false,
            "steeringMode": "one-at-a-time",
            "followUpMode": "one-at-a-time",
            "sessionFile": .null,
            "sessionId": .string(sessionID),
            "autoCompactionEnabled": false,
            "messageCount": .int(conversation.count),
            "pendingMessageCount": .int(steering.count + followUps.count),
        ]
    }

    private mutating func prompt(_ command: JSONValue, id: JSONValue?) -> [DemoEffect] {
        guard let message = command["message"]?.stringValue else {
            return [.emit(PiRecord.failure(id: id, command: "prompt", "prompt needs a \"message\" string"))]
        }
        let accepted = DemoEffect.emit(PiRecord.response(id: id, command: "prompt"))
        let special = SpecialPrompt(message)
        // Like pi's extension commands, these two act at once, even while streaming.
        switch special {
        case .crash?:
            let last = PiRecord.extensionError("Crashing on request (/crash): exit status \(SpecialPrompt.crashStatus)")
            return [accepted, .emit(last), .exit(SpecialPrompt.crashStatus)]
        case .stderr?:
            return [accepted, .stderr("amarre-demo-agent: this line was written to stderr on request (/stderr)")]
        default:
            break
        }
        if isStreaming {
            switch command["streamingBehavior"]?.stringValue {
            case "steer"?: return enqueue(message, steer: true, id: id, command: "prompt")
            case "followUp"?: return enqueue(message, steer: false, id: id, command: "prompt")
            default:
                return [.emit(PiRecord.failure(
                    id: id, command: "prompt",
                    "Agent is already processing. Use steer or follow_up (or prompt with streamingBehavior "
                        + "\"steer\" or \"followUp\") to queue the message."))]
            }
        }
        if case .invalid(let usage)? = special {
            return [.emit(PiRecord.failure(id: id, command: "prompt", usage))]
        }
        startRun(message, special: special)
        return [accepted]
    }

    /// `steer` and `follow_up` queue while streaming and behave like `prompt` when idle.
    private mutating func enqueue(_ message: String, steer: Bool, id: JSONValue?, command: String) -> [DemoEffect] {
        let accepted = DemoEffect.emit(PiRecord.response(id: id, command: command))
        guard isStreaming else {
            startRun(message, special: nil)
            return [accepted]
        }
        guard steering.count + followUps.count < Self.maxQueuedMessages else {
            return [.emit(PiRecord.failure(
                id: id, command: command, "Too many queued messages (at most \(Self.maxQueuedMessages))"))]
        }
        if steer { steering.append(message) } else { followUps.append(message) }
        return [.emit(PiRecord.queueUpdate(steering: steering, followUp: followUps)), accepted]
    }

    /// An answer to the pending `confirm`. Unknown ids, and answers that carry only a `value`, are ignored.
    private mutating func answerPermission(_ answer: JSONValue) {
        guard let id = answer["id"]?.stringValue, var run, run.pendingPermission == id, let call = run.toolCall
        else { return }
        let allowed: Bool
        if answer["cancelled"]?.boolValue == true {
            allowed = false
        } else if let confirmed = answer["confirmed"]?.boolValue {
            allowed = confirmed
        } else {
            return
        }
        run.pendingPermission = nil
        self.run = run
        if allowed {
            let output = call.cannedOutput
            let firstLines = output.split(separator: "\n", omittingEmptySubsequences: false).prefix(2)
            scheduleStep(.toolExecutionUpdate(firstLines.joined(separator: "\n")), after: .milliseconds(150))
            scheduleStep(.toolExecutionEnd(output: output, isError: false), after: .milliseconds(250))
        } else {
            scheduleStep(.toolExecutionEnd(output: "Blocked by user", isError: true), after: .zero)
        }
        scheduleStep(.turnEnd, after: .zero)
    }

    /// Stops the run: whatever is open (assistant message, tool call, turn) is closed as aborted,
    /// a pending permission request is abandoned and the queues are cleared.
    private mutating func abort(now: Int64) -> [DemoEffect] {
        guard var run else { return [] }
        self.run = nil
        schedule.removeAll()
        run.pendingPermission = nil
        var out: [JSONValue] = []
        if run.draft != nil {
            finishAssistant(&run, stopReason: "aborted", into: &out)
        }
        if let call = run.toolCall {
            if !run.toolStarted {
                out.append(PiRecord.toolExecutionStart(id: call.id, name: call.name, args: call.arguments))
            }
            finishTool(&run, output: "Operation aborted", isError: true, now: now, into: &out)
        }
        if run.turnOpen {
            if run.turnMessage == nil {
                // Aborted before the assistant said anything: pi still reports an (empty) aborted message.
                let empty = AssistantDraft(timestamp: now)
                run.draft = empty
                out.append(PiRecord.messageStart(empty.message()))
                finishAssistant(&run, stopReason: "aborted", into: &out)
            }
            closeTurn(&run, into: &out)
        }
        out.append(PiRecord.agentEnd(messages: run.newMessages))
        if !steering.isEmpty || !followUps.isEmpty {
            steering.removeAll()
            followUps.removeAll()
            out.append(PiRecord.queueUpdate(steering: [], followUp: []))
        }
        return out.map(DemoEffect.emit)
    }
}
