/// Settings of the demo agent, read from the environment.
struct DemoConfiguration: Sendable {
    /// `AMARRE_DEMO_SPEED`: every pause is divided by this (100 streams a reply in about 13 ms).
    /// Default 1, a reply in about a second and a half.
    var speed: Double = 1
    /// `AMARRE_DEMO_MAX_LINE_BYTES`: the longest stdin line accepted; a longer one is skipped and
    /// answered with a parse error. Default 64 MiB (pi's image prompts are large).
    var maxLineBytes = 64 << 20
    /// `get_state`'s `sessionId`: `demo-` and 8 hex digits derived from the working directory, so
    /// the same directory always gives the same id.
    var sessionID = "demo-00000000"

    /// Problems found while reading the environment, one line each, for stderr.
    private(set) var warnings: [String] = []

    init() {}

    init(environment: [String: String], workingDirectory: String) {
        sessionID = "demo-" + Self.hexHash(workingDirectory)
        if let text = environment["AMARRE_DEMO_SPEED"] {
            if let value = Double(text), value.isFinite, value > 0 {
                speed = value
            } else {
                warnings.append("AMARRE_DEMO_SPEED=\(text) is not a positive number; using \(speed)")
            }
        }
        if let text = environment["AMARRE_DEMO_MAX_LINE_BYTES"] {
            if let value = Int(text), value > 0 {
                maxLineBytes = value
            } else {
                warnings.append("AMARRE_DEMO_MAX_LINE_BYTES=\(text) is not a positive integer; using \(maxLineBytes)")
            }
        }
    }

    /// 32-bit FNV-1a of `text`, as 8 lowercase hex digits.
    private static func hexHash(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
