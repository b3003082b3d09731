import AmarreJSON
/// Translates between pi-shaped commands and events (what clients speak) and the stream-json
/// protocol of Anthropic's `claude` CLI, run as
/// `claude -p --input-format stream-json --output-format stream-json --verbose
/// --include-partial-messages --permission-prompt-tool stdio`.
///
/// Pure: no I/O and no clock of its own (timestamps come from the injected `clock`, if any).
/// The host feeds it complete lines and performs what it returns, in order.
///
/// Mapping:
/// - `started()` sends the `initialize` control request.
/// - `prompt` / `follow_up` while idle start a run at once: `agent_start`, `turn_start`, the user
///   message (`message_start`/`message_end`), and a claude `user` message. While a run is going
///   they are queued (`queue_update`) and sent one at a time, in order, when claude's `result`
///   ends the run; each queued message starts a run of its own.
/// - `steer` (and `prompt` with `"streamingBehavior":"steer"`) while busy is written to claude at
///   once: claude folds a user message that arrives mid-run into that run at its next tool
///   boundary, which is what pi's steering does. While idle it is a plain prompt.
/// - `abort` sends the `interrupt` control request and discards the queue (`queue_update`
///   shows it empty, so clients can put the text back into the composer, as pi's TUI does).
/// - `get_state`, `get_messages`, `get_commands` are answered from what the adapter has seen;
///   `set_model` (pi's `provider`/`modelId`) becomes the `set_model` control request. Every command
///   gets a pi `response`; those of `abort` and `set_model` when claude has answered.
/// - claude's stream (`stream_event` partials, or complete `assistant` records when there were
///   no partials) becomes `message_start`/`message_update`/`message_end`; a tool call also gets
///   `tool_execution_start` when its input is complete; `tool_result` blocks become
///   `tool_execution_end` and a `toolResult` message. A new assistant message after a finished
///   one starts a new turn (`turn_end` + `turn_start`), as pi's turns do. `result` ends the run:
///   `message_end` of an open message, `turn_end`, `agent_end` with `usage` and `cost`.
/// - `can_use_tool` becomes an `extension_ui_request` confirm (ExitPlanMode first also gets a
///   `notify` with `"event":"plan_capture"`); the answer becomes allow with the original input, or
///   deny. Nothing is ever allowed without an answer.
/// - Records of sub-agents (`parent_tool_use_id` set) and every record the adapter does not
///   know pass through untouched; clients ignore unknown types.
public struct ClaudeCodeAdapter: AgentAdapter {
    /// Bounds on what the adapter keeps.
    public struct Limits: Sendable, Equatable {
        /// Prompts and follow-ups waiting for the run to end; more are refused with a failed response.
        public var maxQueuedMessages: Int
        /// JSON size of the messages remembered for `get_messages` (and for one run's `agent_end`).
        public var maxHistoryBytes: Int

        public init(maxQueuedMessages: Int = 100, maxHistoryBytes: Int = 8 << 20) {
            self.maxQueuedMessages = maxQueuedMessages
            self.maxHistoryBytes = maxHistoryBytes
        }
    }

    /// What claude tells the model when a person refuses a tool call.
    public static let denialMessage = "Denied from amarre"

    /// Makes the ids of the requests this adapter invents (claude control requests, client
    /// questions) unique beyond this process: `<idPrefix>-ui-<n>`, `<idPrefix>-req-<n>`.
    let idPrefix: String
    let clock: (@Sendable () -> Int64)?
    let limits: Limits

    public internal(set) var resumeToken: String?

    /// The model claude runs (from `system` init, `set_model`, or the instance's configuration).
    var model: String?
    /// claude's slash commands, from the answer to `initialize`.
    var commands: [JSONValue] = []
    /// The models claude offers (its `initialize` answer: `{"value","displayName","description"}`).
    var claudeModels: [JSONValue] = []
    /// The instance's own list of models to offer (`"models"`), which wins over claude's.
    let configuredModels: [String]?
    /// claude's permission mode (from `system` init, or `set_permission_mode`).
    var permissionMode = "default"
    /// `bypassPermissions` may be chosen (the instance's `"allowBypass": true`).
    let allowBypass: Bool
    /// Tools allowed for the rest of the session.
    var grants: SessionGrants
    /// Messages of the conversation before this process (a resumed conversation).
    let earlierMessages: Int
    var history: ConversationHistory

    /// The run in progress: from a prompt (or unannounced claude output) to claude's `result`.
    var run: Run?
    /// The assistant message being received.
    var draft: AssistantDraft?
    /// Ids of streamed messages already finished, so their complete `assistant` records are skipped.
    var finishedStreamedMessages: [String] = []
    /// Tool calls whose execution started and has not ended: id → name, and their order.
    var runningTools: [(id: String, name: String)] = []
    /// Tool names by call id, for `tool_execution_end` (claude's results name only the id).
    var toolNames: [String: String] = [:]
    var queue: [QueuedMessage] = []
    /// Questions asked of clients, by the id they were asked with.
    var pendingPermissions: [String: PendingPermission] = [:]
    /// Control requests sent to claude and not yet answered, by request id.
    var pendingControls: [String: PendingControl] = [:]
    var serial = 0
    /// Tools revoked in this process: claude has `ask` rules for them (flag settings).
    var askedAgain: [String] = []
    /// claude has answered `initialize` (its commands and models are known).
    var initialized = false
    /// `get_commands` and `get_available_models` asked before that: (command, id).
    var waitingForInitialize: [(String, JSONValue?)] = []

    /// - Parameters:
    ///   - idPrefix: unique per agent process (e.g. random), so ids never repeat across restarts.
    ///   - model: the instance's configured model, until claude names its own.
    ///   - models: the instance's models to offer (`get_available_models`); nil: claude's own.
    ///   - allowBypass: `set_permission_mode` may choose `bypassPermissions`.
    ///   - resumeToken: the conversation this process resumes (`--resume`), if any.
    ///   - carry: what the previous process of the session handed on.
    ///   - clock: milliseconds since the epoch for message timestamps; nil leaves them out.
    public init(
        idPrefix: String, model: String? = nil, models: [String]? = nil, allowBypass: Bool = false,
        resumeToken: String? = nil, carry: AdapterCarry = AdapterCarry(), limits: Limits = Limits(),
        clock: (@Sendable () -> Int64)? = nil
    ) {
        self.idPrefix = idPrefix
        self.model = model
        self.configuredModels = models
        self.allowBypass = allowBypass
        self.resumeToken = resumeToken
        self.grants = SessionGrants(carry.allowedTools)
        self.earlierMessages = resumeToken == nil ? 0 : carry.messageCount
        self.limits = limits
        self.clock = clock
        self.history = ConversationHistory(maxBytes: limits.maxHistoryBytes)
    }

    public var carry: AdapterCarry {
        AdapterCarry(allowedTools: grants.tools, messageCount: earlierMessages + history.totalCount)
    }

    public mutating func started() -> AdapterOutput {
        var out = AdapterOutput()
        sendControl(ClaudeRecord.initialize, for: .initialize, into: &out)
        return out
    }

    public mutating func fromClient(_ line: [UInt8]) -> AdapterOutput {
        var out = AdapterOutput()
        handleClient(line, into: &out)
        return out
    }

    public mutating func fromAgent(_ line: [UInt8]) -> AdapterOutput {
        var out = AdapterOutput()
        handleAgent(line, into: &out)
        return out
    }

    // MARK: Shared helpers

    var now: Int64? { clock?() }

    var isBusy: Bool { run != nil }

    mutating func nextID(_ kind: String) -> String {
        serial += 1
        return "\(idPrefix)-\(kind)-\(serial)"
    }

    /// Sends a control request to claude and remembers what its answer is for.
    mutating func sendControl(_ request: JSONValue, for purpose: PendingControl, into out: inout AdapterOutput) {
        let id = nextID("req")
        pendingControls[id] = purpose
        out.agent(ClaudeRecord.controlRequest(id: id, request))
    }

    /// Records a finished message for `get_messages` and the run's `agent_end`.
    mutating func commit(_ message: JSONValue) {
        history.append(message)
        run?.messages.append(message)
    }
}

extension ClaudeCodeAdapter {
    /// One run: what pi calls an agent run, from `agent_start` to `agent_end`.
    struct Run: Sendable {
        var messages: ConversationHistory
        /// A turn is open (`turn_start` sent, `turn_end` not yet).
        var turnOpen = true
        /// The last finished assistant message of the open turn, and the tool results after it.
        var turnMessage: JSONValue?
        var turnToolResults: [JSONValue] = []
        /// `abort` was asked during this run: its end is reported as aborted.
        var interrupted = false
    }

    /// A prompt or follow-up waiting for the run to end.
    struct QueuedMessage: Sendable {
        var text: String
        /// pi `ImageContent` values (`{"type":"image","data","mimeType"}`).
        var images: [JSONValue]
    }

    /// A `can_use_tool` request waiting for a client's answer.
    struct PendingPermission: Sendable {
        var requestID: String
        var toolName: String
        var input: JSONValue
        /// claude's `permission_suggestions`: the rules an "allow for this session" adds.
        var suggestions: [JSONValue] = []
    }

    /// What a control request the adapter sent is for.
    enum PendingControl: Sendable {
        case initialize
        /// A client command answered when claude answers: its `type` and `id`.
        case command(String, id: JSONValue?)
        case setModel(String, id: JSONValue?)
        case setPermissionMode(String, id: JSONValue?)
        /// A request whose answer nobody waits for (a revoked grant's rules).
        case quiet
    }
}
