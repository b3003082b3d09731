import AmarreAgents
import AmarreJSON

/// The assistant message being streamed, in pi's `AssistantMessage` shape once rendered.
struct AssistantDraft: Sendable {
    enum Block: Sendable {
        case text(String)
        /// A tool call; its arguments show as `{}` until the call is complete, as a client that
        /// cannot parse partial JSON would see them.
        case toolCall(DemoToolCall, complete: Bool)
    }

    private(set) var blocks: [Block] = []
    let timestamp: Int64

    init(timestamp: Int64) {
        self.timestamp = timestamp
    }

    /// Index of the last block, pi's `contentIndex` for the block being streamed.
    var currentIndex: Int { blocks.count - 1 }

    /// The text of the block being streamed (empty when it is not a text block).
    var currentText: String {
        guard case .text(let s)? = blocks.last else { return "" }
        return s
    }

    /// The most recent tool call of the message.
    var lastToolCall: DemoToolCall? {
        for case .toolCall(let call, _) in blocks.reversed() { return call }
        return nil
    }

    /// Characters the model "wrote": text plus tool arguments, for the usage estimate.
    var outputCharacters: Int {
        blocks.reduce(0) { total, block in
            switch block {
            case .text(let s): total + s.utf8.count
            case .toolCall(let call, _): total + call.arguments.jsonBytes.count + call.name.utf8.count
            }
        }
    }

    mutating func startText() { blocks.append(.text("")) }

    mutating func appendText(_ delta: String) {
        guard case .text(var s)? = blocks.last else { return blocks.append(.text(delta)) }
        // Empty the slot first so `s` is the only reference and grows in place (`/flood` appends
        // a million times).
        blocks[currentIndex] = .text("")
        s += delta
        blocks[currentIndex] = .text(s)
    }

    /// Replaces the text of the current block (used by `/big`, whose huge delta is not kept).
    mutating func replaceText(with text: String) {
        guard case .text? = blocks.last else { return blocks.append(.text(text)) }
        blocks[currentIndex] = .text(text)
    }

    mutating func startToolCall(_ call: DemoToolCall) { blocks.append(.toolCall(call, complete: false)) }

    mutating func completeToolCall() {
        guard case .toolCall(let call, _)? = blocks.last else { return }
        blocks[currentIndex] = .toolCall(call, complete: true)
    }

    /// The message as pi renders it. `usage` defaults to zeros, as on pi's partial messages.
    func message(stopReason: String = "stop", usage: DemoUsage = .zero, errorMessage: String? = nil) -> JSONValue {
        let content: [JSONValue] = blocks.map { block in
            switch block {
            case .text(let s):
                return ["type": "text", "text": .string(s)]
            case .toolCall(let call, let complete):
                return complete ? call.contentBlock : call.contentBlock.setting("arguments", to: [:])
            }
        }
        return PiRecord.assistantMessage(
            content: content, api: DemoModel.api, provider: DemoModel.provider, model: DemoModel.id,
            usage: usage.json, stopReason: stopReason, errorMessage: errorMessage, timestamp: timestamp)
    }
}
