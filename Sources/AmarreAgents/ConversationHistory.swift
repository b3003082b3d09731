import AmarreJSON
/// The pi-shaped messages of a conversation as the claude-code adapter saw them, for
/// `get_messages`, bounded in size: past `maxBytes` of JSON the oldest messages are forgotten.
///
/// The bound keeps the adapter's memory flat on long sessions and keeps a `get_messages`
/// answer under the host's record limit (`AMARRE_MAX_RECORD_BYTES`, 16 MiB by default).
struct ConversationHistory: Sendable {
    /// Default bound on the JSON size of the remembered messages.
    static let defaultMaxBytes = 8 << 20

    let maxBytes: Int
    private var entries: [(message: JSONValue, bytes: Int)] = []
    private var head = 0
    private var bytes = 0
    /// Messages ever recorded, forgotten ones included (pi's `messageCount`).
    private(set) var totalCount = 0

    init(maxBytes: Int = ConversationHistory.defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    /// The remembered messages, oldest first.
    var messages: [JSONValue] { entries[head...].map(\.message) }

    mutating func append(_ message: JSONValue) {
        let size = message.jsonBytes.count
        entries.append((message, size))
        bytes += size
        totalCount += 1
        while bytes > maxBytes, head < entries.count {
            bytes -= entries[head].bytes
            head += 1
        }
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
