// Reading one JSON text (RFC 8259) into a `JSONValue`, keeping member order and number text.

extension JSONValue {
    /// Deepest nesting accepted, as `JSONScanner` does; deeper input is refused.
    public static let maxParseDepth = 256

    /// Parses exactly one JSON value surrounded by optional whitespace; nil when it is not JSON.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            parser.skipWhitespace()
            guard let value = parser.value(depth: 1) else { return nil }
            parser.skipWhitespace()
            return parser.atEnd ? value : nil
        }
    }

    public static func parse(_ text: String) -> JSONValue? { parse(Array(text.utf8)) }
}

/// A recursive-descent reader over the bytes of one JSON text.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { pos == bytes.count }

    mutating func skipWhitespace() {
        while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
    }

    mutating func value(depth: Int) -> JSONValue? {
        guard pos < bytes.count, depth <= JSONValue.maxParseDepth else { return nil }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default: return number()
        }
    }

    private mutating func literal(_ word: String) -> Bool {
        for byte in word.utf8 {
            guard pos < bytes.count, bytes[pos] == byte else { return false }
            pos += 1
        }
        return true
    }

    private mutating func object(depth: Int) -> JSONValue? {
        pos += 1  // {
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { return nil }
            pos += 1
            skipWhitespace()
            guard let member = value(depth: depth + 1) else { return nil }
            members.append(JSONValue.Member(key: key, value: member))
            skipWhitespace()
            guard pos < bytes.count else { return nil }
            if bytes[pos] == UInt8(ascii: "}") {
                pos += 1
                return .object(members)
            }
            guard bytes[pos] == UInt8(ascii: ",") else { return nil }
            pos += 1
            skipWhitespace()
        }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        pos += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            guard let element = value(depth: depth + 1) else { return nil }
            elements.append(element)
            skipWhitespace()
            guard pos < bytes.count else { return nil }
            if bytes[pos] == UInt8(ascii: "]") {
                pos += 1
                return .array(elements)
            }
            guard bytes[pos] == UInt8(ascii: ",") else { return nil }
            pos += 1
            skipWhitespace()
        }
    }

    private mutating func number() -> JSONValue? {
        let start = pos
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count else { return nil }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if isDigit(bytes[pos]) {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        } else {
            return nil
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { return nil }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { return nil }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self))
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Reads a string starting at its opening quote; nil on bad escapes, raw control
    /// characters or invalid UTF-8.
    private mutating func string() -> String? {
        pos += 1  // opening quote
        var utf8: [UInt8] = []
        var runStart = pos
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                utf8.append(contentsOf: bytes[runStart..<pos])
                pos += 1
                return String(validating: utf8, as: UTF8.self)
            }
            if b < 0x20 { return nil }
            guard b == UInt8(ascii: "\\") else {
                pos += 1
                continue
            }
            utf8.append(contentsOf: bytes[runStart..<pos])
            pos += 1
            guard pos < bytes.count else { return nil }
            let escape = bytes[pos]
            pos += 1
            switch escape {
            case UInt8(ascii: "\""): utf8.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): utf8.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): utf8.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                guard let scalar = unicodeEscape() else { return nil }
                utf8.append(contentsOf: String(Character(scalar)).utf8)
            default: return nil
            }
            runStart = pos
        }
        return nil
    }

    /// The scalar of a `\uXXXX` escape (the `\u` already read), joining a surrogate pair.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let unit = hex4() else { return nil }
        if unit >= 0xD800 && unit < 0xDC00 {
            guard bytes.count - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                return nil
            }
            pos += 2
            guard let low = hex4(), low >= 0xDC00 && low < 0xE000 else { return nil }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
        }
        return Unicode.Scalar(unit)
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - pos >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            pos += 1
        }
        return value
    }
}
