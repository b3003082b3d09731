// Runs: planning the steps of each turn, and taking them one at a time.

import AmarreAgents
import AmarreJSON

extension DemoAgent {
    /// Pause before an assistant message starts (the "time to first token").
    static let thinkingPause = Duration.milliseconds(300)
    /// Pause between two text deltas.
    static let deltaPause = Duration.milliseconds(50)
    /// Pause between two tool-call argument deltas.
    static let argumentPause = Duration.milliseconds(40)
    /// About how many deltas a reply is cut into (so it streams for about a second).
    static let replyDeltas = 20
    /// `/flood` records written per step.
    static let floodBatch = 64

    /// Takes the step at the head of the schedule and returns its effects.
    mutating func advance(now: Int64) -> [DemoEffect] {
        guard !schedule.isEmpty else { return [] }
        let step = schedule.removeFirst().step
        guard var run else { return [] }
        // Move the run out, so the streamed text has one owner and grows in place.
        self.run = nil
        var out: [JSONValue] = []
        let goesOn = take(step, in: &run, now: now, into: &out)
        self.run = goesOn ? run : nil
        return out.map(DemoEffect.emit)
    }

    mutating func scheduleStep(_ step: DemoStep, after delay: Duration) {
        nextSerial += 1
        schedule.append(ScheduledStep(serial: nextSerial, delay: delay, step: step))
    }

    /// Starts a run for `message` (the agent is idle).
    mutating func startRun(_ message: String, special: SpecialPrompt?) {
        run = DemoRun()
        scheduleStep(.agentStart, after: .zero)
        scheduleStep(.turnStart, after: .zero)
        scheduleStep(.userMessage(message), after: .zero)
        switch special {
        case .flood(let count)?:
            scheduleStep(.assistantStart, after: .zero)
            scheduleStep(.textStart, after: .zero)
            scheduleStep(.flood(next: 1, total: count), after: .zero)
            scheduleStep(.textEnd, after: .zero)
            scheduleStep(.assistantEnd(stopReason: "stop"), after: .zero)
            scheduleStep(.turnEnd, after: .zero)
        case .big(let bytes)?:
            scheduleStep(.assistantStart, after: .zero)
            scheduleStep(.textStart, after: .zero)
            scheduleStep(.bigDelta(bytes: bytes), after: .zero)
            scheduleStep(.textEnd, after: .zero)
            scheduleStep(.assistantEnd(stopReason: "stop"), after: .zero)
            scheduleStep(.turnEnd, after: .zero)
        default:
            planReply(to: message)
        }
    }

    /// The assistant's message answering `message`: a tool call if it asks for one, else a reply.
    private mutating func planReply(to message: String) {
        guard let call = DemoScript.toolCall(for: message, id: "call_\(toolCallCount + 1)") else {
            return planText(DemoScript.reply(to: message), deltas: Self.replyDeltas)
        }
        toolCallCount += 1
        scheduleStep(.assistantStart, after: Self.thinkingPause)
        scheduleStep(.textStart, after: .zero)
        for delta in DemoScript.deltas(of: DemoScript.leadIn(to: call), count: 4) {
            scheduleStep(.textDelta(delta), after: Self.deltaPause)
        }
        scheduleStep(.textEnd, after: .zero)
        scheduleStep(.toolCallStart(call), after: Self.deltaPause)
        let arguments = call.arguments.jsonText
        for delta in Self.split(arguments, into: 3) {
            scheduleStep(.toolCallDelta(delta), after: Self.argumentPause)
        }
        scheduleStep(.toolCallEnd, after: .zero)
        scheduleStep(.assistantEnd(stopReason: "toolUse"), after: .zero)
        scheduleStep(.toolExecutionStart, after: .zero)
        scheduleStep(.askPermission, after: .zero)
    }

    private mutating func planText(_ text: String, deltas: Int) {
        scheduleStep(.assistantStart, after: Self.thinkingPause)
        scheduleStep(.textStart, after: .zero)
        for delta in DemoScript.deltas(of: text, count: deltas) {
            scheduleStep(.textDelta(delta), after: Self.deltaPause)
        }
        scheduleStep(.textEnd, after: .zero)
        scheduleStep(.assistantEnd(stopReason: "stop"), after: .zero)
        scheduleStep(.turnEnd, after: .zero)
    }

    private static func split(_ text: String, into parts: Int) -> [String] {
        let characters = Array(text)
        let size = max(1, (characters.count + parts - 1) / parts)
        return stride(from: 0, to: characters.count, by: size).map {
            String(characters[$0..<min($0 + size, characters.count)])
        }
    }

    // MARK: Taking steps

    /// Emits the records of `step`. Returns `false` when the run has ended.
    private mutating func take(_ step: DemoStep, in run: inout DemoRun, now: Int64, into out: inout [JSONValue]) -> Bool {
        switch step {
        case .agentStart:
            out.append(PiRecord.agentStart)
        case .turnStart:
            run.turnOpen = true
            run.turnMessage = nil
            run.turnToolResults = []
            out.append(PiRecord.turnStart)
        case .userMessage(let text):
            let message = PiRecord.userMessage(content: [PiRecord.text(text)], timestamp: now)
            out.append(PiRecord.messageStart(message))
            out.append(PiRecord.messageEnd(message))
            commit(message, in: &run)
        case .assistantStart:
            let draft = AssistantDraft(timestamp: now)
            run.draft = draft
            out.append(PiRecord.messageStart(draft.message()))
            out.append(PiRecord.messageUpdate(["type": "start"], message: draft.message()))
        case .textStart:
            update(&run, into: &out) { draft in
                draft.startText()
                return ["type": "text_start", "contentIndex": .int(draft.currentIndex)]
            }
        case .textDelta(let delta):
            update(&run, into: &out) { draft in
                draft.appendText(delta)
                return ["type": "text_delta", "contentIndex": .int(draft.currentIndex), "delta": .string(delta)]
            }
        case .textEnd:
            update(&run, into: &out) { draft in
                ["type": "text_end", "contentIndex": .int(draft.currentIndex), "content": .string(draft.currentText)]
            }
        case .toolCallStart(let call):
            update(&run, into: &out) { draft in
                draft.startToolCall(call)
                return ["type": "toolcall_start", "contentIndex": .int(draft.currentIndex)]
            }
        case .toolCallDelta(let delta):
            update(&run, into: &out) { draft in
                ["type": "toolcall_delta", "contentIndex": .int(draft.currentIndex), "delta": .string(delta)]
            }
        case .toolCallEnd:
            update(&run, into: &out) { draft in
                draft.completeToolCall()
                return [
                    "type": "toolcall_end", "contentIndex": .int(draft.currentIndex),
                    "toolCall": draft.lastToolCall?.contentBlock ?? .null,
                ]
            }
        case .assistantEnd(let stopReason):
            if stopReason == "toolUse" { run.toolCall = run.draft?.lastToolCall }
            finishAssistant(&run, stopReason: stopReason, into: &out)
        case .toolExecutionStart:
            guard let call = run.toolCall else { break }
            run.toolStarted = true
            out.append(PiRecord.toolExecutionStart(id: call.id, name: call.name, args: call.arguments))
        case .askPermission:
            guard let call = run.toolCall else { break }
            permissionCount += 1
            let id = "demo-ui-\(permissionCount)"
            run.pendingPermission = id
            out.append(PiRecord.confirm(id: id, title: "Run \(call.name)?", message: call.confirmMessage))
        case .toolExecutionUpdate(let partial):
            guard let call = run.toolCall else { break }
            out.append(PiRecord.toolExecutionUpdate(call, partialOutput: partial))
        case .toolExecutionEnd(let output, let isError):
            finishTool(&run, output: output, isError: isError, now: now, into: &out)
        case .turnEnd:
            closeTurn(&run, into: &out)
            scheduleStep(.continueOrFinish, after: .zero)
        case .continueOrFinish:
            return continueOrFinish(&run, into: &out)
        case .flood(let next, let total):
            let last = min(total, next + Self.floodBatch - 1)
            for index in next...last {
                let delta = "\(index) "
                run.draft?.appendText(delta)
                let event: JSONValue = ["type": "text_delta", "contentIndex": 0, "delta": .string(delta)]
                out.append(PiRecord.messageUpdate(event))
            }
            if last < total {
                nextSerial += 1
                schedule.insert(
                    ScheduledStep(serial: nextSerial, delay: .zero, step: .flood(next: last + 1, total: total)), at: 0)
            }
        case .bigDelta(let bytes):
            let event: JSONValue = [
                "type": "text_delta", "contentIndex": 0, "delta": .string(DemoScript.filler(bytes: bytes)),
            ]
            out.append(PiRecord.messageUpdate(event))
            // The final message carries a note instead, so exactly one record is big.
            run.draft?.replaceText(with: "(/big sent one text_delta of \(bytes) bytes; it is not kept in the message.)")
        }
        return true
    }

    /// Applies `change` to the draft and emits the `message_update` it returns, with the message so far.
    private func update(
        _ run: inout DemoRun, into out: inout [JSONValue], _ change: (inout AssistantDraft) -> JSONValue
    ) {
        guard var draft = run.draft else { return }
        let event = change(&draft)
        run.draft = draft
        out.append(PiRecord.messageUpdate(event, message: draft.message()))
    }

    /// After a turn: the turn that talks about the tool result, steering, a follow-up, or the end.
    private mutating func continueOrFinish(_ run: inout DemoRun, into out: inout [JSONValue]) -> Bool {
        let outcome = run.lastToolOutcome
        run.lastToolOutcome = nil
        if let message = dequeue(into: &out, steeringOnly: outcome != nil) {
            scheduleStep(.turnStart, after: .zero)
            scheduleStep(.userMessage(message), after: .zero)
            planReply(to: message)
            return true
        }
        switch outcome {
        case .allowed(let call)?:
            scheduleStep(.turnStart, after: .zero)
            planText(DemoScript.summary(of: call, allowed: true), deltas: 12)
        case .denied(let call)?:
            scheduleStep(.turnStart, after: .zero)
            planText(DemoScript.summary(of: call, allowed: false), deltas: 8)
        case nil:
            out.append(PiRecord.agentEnd(messages: run.newMessages))
            return false
        }
        return true
    }

    /// The next queued message, one at a time, steering first; announces the new queue.
    private mutating func dequeue(into out: inout [JSONValue], steeringOnly: Bool) -> String? {
        let message: String
        if !steering.isEmpty {
            message = steering.removeFirst()
        } else if !steeringOnly, !followUps.isEmpty {
            message = followUps.removeFirst()
        } else {
            return nil
        }
        out.append(PiRecord.queueUpdate(steering: steering, followUp: followUps))
        return message
    }

    // MARK: Closing what is open (shared with abort)

    mutating func finishAssistant(_ run: inout DemoRun, stopReason: String, into out: inout [JSONValue]) {
        guard let draft = run.draft else { return }
        let usage = DemoUsage.estimate(contextCharacters: contextCharacters, outputCharacters: draft.outputCharacters)
        let aborted = stopReason == "aborted"
        let message = draft.message(
            stopReason: stopReason, usage: usage, errorMessage: aborted ? "Request was aborted" : nil)
        let event: JSONValue = ["type": aborted ? "error" : "done", "reason": .string(stopReason)]
        out.append(PiRecord.messageUpdate(event, message: message))
        out.append(PiRecord.messageEnd(message))
        commit(message, in: &run)
        run.draft = nil
        run.turnMessage = message
    }

    mutating func finishTool(
        _ run: inout DemoRun, output: String, isError: Bool, now: Int64, into out: inout [JSONValue]
    ) {
        guard let call = run.toolCall else { return }
        let content = [PiRecord.text(output)]
        out.append(PiRecord.toolExecutionEnd(id: call.id, name: call.name, content: content, isError: isError))
        let result = PiRecord.toolResultMessage(
            id: call.id, name: call.name, content: content, isError: isError, timestamp: now)
        out.append(PiRecord.messageStart(result))
        out.append(PiRecord.messageEnd(result))
        commit(result, in: &run)
        run.turnToolResults.append(result)
        run.toolCall = nil
        run.toolStarted = false
        run.lastToolOutcome = isError ? .denied(call) : .allowed(call)
    }

    func closeTurn(_ run: inout DemoRun, into out: inout [JSONValue]) {
        out.append(PiRecord.turnEnd(message: run.turnMessage, toolResults: run.turnToolResults))
        run.turnOpen = false
    }

    private mutating func commit(_ message: JSONValue, in run: inout DemoRun) {
        conversation.append(message)
        run.newMessages.append(message)
        contextCharacters += message["content"]?.jsonBytes.count ?? 0
    }
}
