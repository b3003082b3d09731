import AmarreAgents
import AmarreJSON

/// The state of one agent run (`agent_start` … `agent_end`): what is open, for abort to close,
/// and the messages `agent_end` reports.
struct DemoRun: Sendable {
    /// How a tool call of the last turn ended; the next turn talks about it.
    enum ToolOutcome: Sendable {
        case allowed(DemoToolCall)
        case denied(DemoToolCall)
    }

    /// Messages added during this run, for `agent_end`.
    var newMessages: [JSONValue] = []
    /// The assistant message being streamed.
    var draft: AssistantDraft?
    var turnOpen = false
    /// The assistant message of the current turn, once it has ended.
    var turnMessage: JSONValue?
    var turnToolResults: [JSONValue] = []
    /// The tool call of the current turn, from the end of its message until its result is in.
    var toolCall: DemoToolCall?
    var toolStarted = false
    /// The id of the `confirm` request waiting for an answer.
    var pendingPermission: String?
    var lastToolOutcome: ToolOutcome?
}
