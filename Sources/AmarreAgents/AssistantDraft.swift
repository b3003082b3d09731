import AmarreJSON
/// One assistant message being assembled from claude's output, rendered in pi's
/// `AssistantMessage` shape, with the pi `assistantMessageEvent` for each step.
///
/// Fed either by partial `stream_event`s (blocks addressed by claude's `index`) or by complete
/// `assistant` records (claude writes one per content block, all with the same message id).
struct AssistantDraft: Sendable {
    enum Kind: String, Sendable {
        case text
        case thinking
        case toolCall
    }

    struct Block: Sendable {
        var kind: Kind
        /// The text, the thinking, or a tool call's input JSON as streamed so far.
        var text = ""
        var toolID = ""
        var toolName = ""
        /// A tool call's input once complete.
        var arguments: JSONValue?
        var complete = false
    }

    /// The Anthropic message id (`msg_…`), when claude gave one.
    let messageID: String?
    /// Built from `stream_event`s (true) or from complete `assistant` records.
    let streamed: Bool
    var model: String?
    private(set) var blocks: [Block] = []
    /// claude's content block `index` → position in `blocks` (blocks of unknown kinds are skipped).
    private var positions: [Int: Int] = [:]
    /// claude's usage, later reports overriding earlier ones key by key.
    private(set) var usage: JSONValue?
    /// claude's `stop_reason` (`end_turn`, `tool_use`, `max_tokens`, ...), once known.
    var stopReason: String?
    let timestamp: Int64?

    init(messageID: String?, streamed: Bool, model: String?, timestamp: Int64?) {
        self.messageID = messageID
        self.streamed = streamed
        self.model = model
        self.timestamp = timestamp
    }

    var hasToolCalls: Bool { blocks.contains { $0.kind == .toolCall } }

    mutating func mergeUsage(_ more: JSONValue?) {
        guard case .object(let members)? = more else { return }
        var merged = usage ?? [:]
        for member in members { merged = merged.setting(member.key, to: member.value) }
        usage = merged
    }

    // MARK: Steps, each returning pi's assistantMessageEvent

    /// Opens a block; `index` is claude's block index when streaming (nil: the next one).
    mutating func start(_ kind: Kind, index: Int?, toolID: String = "", toolName: String = "") -> JSONValue {
        let position = blocks.count
        blocks.append(Block(kind: kind, toolID: toolID, toolName: toolName))
        if let index { positions[index] = position }
        return ["type": .string(kind.eventPrefix + "_start"), "contentIndex": .int(position)]
    }

    /// Adds to an open block; nil when claude's `index` names no block this draft knows.
    mutating func append(_ delta: String, index: Int?) -> JSONValue? {
        guard let position = position(of: index), !blocks[position].complete else { return nil }
        blocks[position].text += delta
        return [
            "type": .string(blocks[position].kind.eventPrefix + "_delta"), "contentIndex": .int(position),
            "delta": .string(delta),
        ]
    }

    /// Closes a block. A tool call's input is `arguments` when given, else its streamed JSON
    /// (`{}` when empty or unreadable). Returns the event and, for a tool call, the block.
    mutating func end(index: Int?, arguments: JSONValue? = nil) -> (event: JSONValue, toolCall: Block?)? {
        guard let position = position(of: index), !blocks[position].complete else { return nil }
        blocks[position].complete = true
        let block = blocks[position]
        switch block.kind {
        case .text:
            return (["type": "text_end", "contentIndex": .int(position), "content": .string(block.text)], nil)
        case .thinking:
            return (["type": "thinking_end", "contentIndex": .int(position), "content": .string(block.text)], nil)
        case .toolCall:
            let input = arguments ?? (block.text.isEmpty ? [:] : JSONValue.parse(block.text) ?? [:])
            blocks[position].arguments = input
            let event: JSONValue = [
                "type": "toolcall_end", "contentIndex": .int(position), "toolCall": Self.toolCall(blocks[position]),
            ]
            return (event, blocks[position])
        }
    }

    private func position(of index: Int?) -> Int? {
        guard let index else { return blocks.isEmpty ? nil : blocks.count - 1 }
        return positions[index]
    }

    // MARK: Rendering

    /// pi's stop reason for what claude reported.
    var piStopReason: String {
        switch stopReason {
        case "tool_use": return "toolUse"
        case "max_tokens": return "length"
        case "refusal": return "error"
        case nil: return hasToolCalls ? "toolUse" : "stop"
        default: return "stop"
        }
    }

    /// The message as pi renders it; tool calls show `{}` as arguments until complete.
    func message(stopReason: String = "stop", errorMessage: String? = nil, totalCost: Double? = nil) -> JSONValue {
        let content: [JSONValue] = blocks.map { block in
            switch block.kind {
            case .text: return ["type": "text", "text": .string(block.text)]
            case .thinking: return ["type": "thinking", "thinking": .string(block.text)]
            case .toolCall: return Self.toolCall(block)
            }
        }
        return PiRecord.assistantMessage(
            content: content, api: "anthropic-messages", provider: "anthropic", model: model ?? "claude",
            usage: PiRecord.usage(claude: usage, totalCost: totalCost), stopReason: stopReason,
            errorMessage: errorMessage, timestamp: timestamp)
    }

    private static func toolCall(_ block: Block) -> JSONValue {
        PiRecord.toolCall(id: block.toolID, name: block.toolName, arguments: block.arguments ?? [:])
    }
}

extension AssistantDraft.Kind {
    /// The prefix of pi's event types for this kind of block: `text_start`, `toolcall_delta`...
    var eventPrefix: String {
        switch self {
        case .text: "text"
        case .thinking: "thinking"
        case .toolCall: "toolcall"
        }
    }
}
