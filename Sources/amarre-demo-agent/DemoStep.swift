/// One scheduled piece of a run. A step's records are built when it is taken, from the state at
/// that moment, so an abort can close whatever is open at any point.
enum DemoStep: Sendable {
    case agentStart
    case turnStart
    /// A user message (the prompt, or a dequeued steering / follow-up message): start and end.
    case userMessage(String)
    /// `message_start` of a new assistant message, and the `start` update.
    case assistantStart
    case textStart
    case textDelta(String)
    case textEnd
    case toolCallStart(DemoToolCall)
    case toolCallDelta(String)
    case toolCallEnd
    /// The `done` update and `message_end`.
    case assistantEnd(stopReason: String)
    case toolExecutionStart
    /// The permission gate's `confirm` request; nothing is scheduled until it is answered.
    case askPermission
    case toolExecutionUpdate(String)
    /// `tool_execution_end` and the tool result message.
    case toolExecutionEnd(output: String, isError: Bool)
    case turnEnd
    /// Start the next turn (tool summary, steering, follow-up) or end the run.
    case continueOrFinish
    /// `/flood`: records `next...total`, a batch per step so commands are still read in between.
    case flood(next: Int, total: Int)
    /// `/big`: one text delta of this many bytes.
    case bigDelta(bytes: Int)
}

/// A step with the pause before it (measured from the previous step) and a serial number that
/// tells the I/O loop whether the head of the schedule changed.
struct ScheduledStep: Sendable {
    let serial: Int
    let delay: Duration
    let step: DemoStep
}
