/// Small helpers to write JSON text by hand where a Codable round-trip would be wasteful.
public enum JSONText {
    /// A JSON string literal for `s`, escaped per RFC 8259.
    public static func quote(_ s: String) -> String { quote(s, allControls: false) }

    /// `quote(_:)`;
    /// - Parameter allControls: also escape DEL, the C1 controls and U+2028/U+2029 (still valid
    ///   JSON): for text that must stay on one line and never drive a terminal (the logs).
    public static func quote(_ s: String, allControls: Bool) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20
                || (allControls && ((0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029)):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
