/// A strict, allocation-free JSON (RFC 8259) validator that also reports the top-level
/// `type`, `id` and `method` members of an object.
///
/// The relay must refuse client frames that are not JSON and recognise permission answers
/// without paying for a full parse of every record; this does one pass over the bytes, reading
/// them through `JSONReader` (the grammar) and `JSONTokenizer` (the lexer), as `JSONValue.parse`
/// does, and decodes only the strings it reports.
public enum JSONScanner {
    /// What a scan found out about one JSON text.
    public struct Summary: Equatable, Sendable {
        /// The text is a JSON object (after leading whitespace).
        public var isObject: Bool = false
        /// Decoded value of a top-level `"type"` string member, if any.
        public var type: String?
        /// A top-level `"id"` member: a string's decoded value, or a number's text.
        public var id: String?
        /// Decoded value of a top-level `"method"` string member, if any.
        public var method: String?
        /// Whitespace outside strings contains a newline or carriage return (pretty-printed JSON).
        public var hasStructuralNewlines: Bool = false
        /// The object has a top-level member whose name starts with `_` (reserved for the server).
        public var hasReservedMembers: Bool = false
    }

    /// Deepest nesting accepted; deeper input is rejected rather than risking the stack.
    public static let maxDepth = JSONReader.maxDepth

    /// Validates `bytes` as exactly one JSON value surrounded by optional whitespace.
    /// Returns nil when it is not valid JSON (including invalid UTF-8 in strings).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> Summary? {
        var reader = JSONReader(bytes)
        var summary = Summary()
        // The top-level member whose value comes next.
        var member = Member.other
        while true {
            switch reader.next() {
            case .invalid:
                return nil
            case .end:
                summary.hasStructuralNewlines = reader.sawNewline
                return summary
            case .beginObject where reader.depth == 1:
                summary.isObject = true
            case .key(let name) where reader.depth == 1:
                member = classify(name, in: reader.tokenizer, &summary)
            case .string(let value) where reader.depth == 1 && member != .other:
                let text = reader.tokenizer.string(value)
                switch member {
                case .type: summary.type = text
                case .id: summary.id = text
                case .method: summary.method = text
                case .other: break
                }
                member = .other
            case .number(let range) where reader.depth == 1 && member == .id:
                summary.id = reader.tokenizer.text(range)
                member = .other
            default:
                break
            }
        }
    }

    public static func scan(_ bytes: some Collection<UInt8>) -> Summary? {
        if let r = bytes.withContiguousStorageIfAvailable({ scan(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(bytes).withUnsafeBytes { scan($0) }
    }

    private enum Member { case type, id, method, other }

    /// Which reported member a top-level name is; notes a reserved (`_`) one in `summary`.
    /// Names are compared as raw bytes; only a name with escapes is decoded.
    private static func classify(_ name: JSONStringToken, in tokenizer: JSONTokenizer, _ summary: inout Summary) -> Member {
        if name.hasEscapes {
            let key = tokenizer.string(name)
            switch key {
            case "type": return .type
            case "id": return .id
            case "method": return .method
            default:
                if key.utf8.first == UInt8(ascii: "_") { summary.hasReservedMembers = true }
                return .other
            }
        }
        let raw = tokenizer.bytes(name.range)
        if raw.first == UInt8(ascii: "_") {
            summary.hasReservedMembers = true
            return .other
        }
        if equals(raw, "type") { return .type }
        if equals(raw, "id") { return .id }
        if equals(raw, "method") { return .method }
        return .other
    }

    @inline(__always)
    private static func equals(_ raw: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard raw.count == n else { return false }
        let w = word.utf8Start
        for i in 0..<n where raw[i] != w[i] { return false }
        return true
    }
}
