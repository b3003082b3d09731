// Reading one JSON text (RFC 8259) into a `JSONValue`, keeping member order and number text:
// the tree built from `JSONReader`'s events, as `JSONScanner` reads them.

extension JSONValue {
    /// Deepest nesting accepted, as `JSONScanner` does; deeper input is refused.
    public static let maxParseDepth = JSONReader.maxDepth

    /// Parses exactly one JSON value surrounded by optional whitespace; nil when it is not JSON.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBytes { parse(raw: $0) }
    }

    public static func parse(_ text: String) -> JSONValue? {
        var text = text
        return text.withUTF8 { parse(raw: UnsafeRawBufferPointer($0)) }
    }

    private static func parse(raw: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = JSONReader(raw)
        guard let value = reader.value(startingWith: reader.next()), case .end = reader.next() else { return nil }
        return value
    }
}

extension JSONReader {
    /// The value whose first event is `event`, read to its last one; nil when the text is not
    /// JSON. Recursion is bounded by `maxDepth`, which the reader enforces.
    fileprivate mutating func value(startingWith event: Event) -> JSONValue? {
        switch event {
        case .beginObject:
            var members: [JSONValue.Member] = []
            while true {
                switch next() {
                case .key(let name):
                    let key = tokenizer.string(name)
                    guard let value = value(startingWith: next()) else { return nil }
                    members.append(JSONValue.Member(key: key, value: value))
                case .endObject:
                    return .object(members)
                default:
                    return nil
                }
            }
        case .beginArray:
            var elements: [JSONValue] = []
            while true {
                let event = next()
                if case .endArray = event { return .array(elements) }
                guard let element = value(startingWith: event) else { return nil }
                elements.append(element)
            }
        case .string(let s): return .string(tokenizer.string(s))
        case .number(let range): return .number(tokenizer.text(range))
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .endObject, .endArray, .key, .end, .invalid: return nil
        }
    }
}
