/// Prompts that test the relay rather than the conversation (documented in main.swift).
enum SpecialPrompt: Equatable, Sendable {
    /// `/crash`: print one last event line, then exit with status 3.
    case crash
    /// `/stderr`: write one line to stderr.
    case stderr
    /// `/flood N`: N small `message_update` records, as fast as the pipe takes them.
    case flood(Int)
    /// `/big N`: one record whose text delta is N bytes.
    case big(Int)
    /// A special prompt with a bad argument; the text says why.
    case invalid(String)

    static let crashStatus: Int32 = 3
    static let defaultFloodCount = 1_000
    static let maxFloodCount = 1_000_000
    static let defaultBigBytes = 1 << 20
    static let maxBigBytes = 64 << 20

    /// `nil` for an ordinary prompt. Only exact forms match: `/crash`, `/flood 100`, not ` /crash`.
    init?(_ message: String) {
        let parts = message.split(separator: " ", omittingEmptySubsequences: false)
        guard let head = parts.first, parts.count <= 2 else { return nil }
        let argument = parts.count == 2 ? String(parts[1]) : nil
        switch (head, argument) {
        case ("/crash", nil): self = .crash
        case ("/stderr", nil): self = .stderr
        case ("/flood", _):
            self = Self.count(argument, default: Self.defaultFloodCount, max: Self.maxFloodCount)
                .map(SpecialPrompt.flood) ?? .invalid("Usage: /flood N, with 1 ≤ N ≤ \(Self.maxFloodCount)")
        case ("/big", _):
            self = Self.count(argument, default: Self.defaultBigBytes, max: Self.maxBigBytes)
                .map(SpecialPrompt.big) ?? .invalid("Usage: /big N, with 1 ≤ N ≤ \(Self.maxBigBytes) bytes")
        default: return nil
        }
    }

    private static func count(_ argument: String?, default defaultValue: Int, max: Int) -> Int? {
        guard let argument else { return defaultValue }
        guard let value = Int(argument), (1...max).contains(value) else { return nil }
        return value
    }

    /// What `get_commands` lists, as pi lists extension commands.
    static let commands: [(name: String, description: String)] = [
        ("flood", "Stream N tiny message_update records as fast as possible (default \(defaultFloodCount))"),
        ("big", "Send one record whose text is N bytes (default \(defaultBigBytes))"),
        ("stderr", "Write a line to stderr"),
        ("crash", "Print one last event, then exit with status \(crashStatus)"),
    ]
}
