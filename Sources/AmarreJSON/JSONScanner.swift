/// A strict, allocation-free JSON (RFC 8259) validator that also reports the top-level
/// `type` and `id` members of an object.
///
/// The relay must refuse client frames that are not JSON and recognise permission answers
/// without paying for a full parse of every record; this does one pass over the bytes.
public struct JSONScanner {
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
    public static let maxDepth = 256

    /// Validates `bytes` as exactly one JSON value surrounded by optional whitespace.
    /// Returns nil when it is not valid JSON (including invalid UTF-8 in strings).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> Summary? {
        var s = JSONScanner(bytes: bytes)
        var summary = Summary()
        s.skipWhitespace(&summary)
        guard s.pos < s.end else { return nil }
        if s.peek == UInt8(ascii: "{") {
            summary.isObject = true
            guard s.object(depth: 1, summary: &summary, topLevel: true) else { return nil }
        } else {
            guard s.value(depth: 1, summary: &summary) else { return nil }
        }
        s.skipWhitespace(&summary)
        return s.pos == s.end ? summary : nil
    }

    public static func scan(_ bytes: some Collection<UInt8>) -> Summary? {
        if let r = bytes.withContiguousStorageIfAvailable({ scan(UnsafeRawBufferPointer($0)) }) { return r }
        return Array(bytes).withUnsafeBytes { scan($0) }
    }

    private let base: UnsafeRawBufferPointer
    private var pos: Int
    private let end: Int

    private init(bytes: UnsafeRawBufferPointer) {
        self.base = bytes
        self.pos = 0
        self.end = bytes.count
    }

    private var peek: UInt8 { base[pos] }

    private mutating func skipWhitespace(_ summary: inout Summary) {
        while pos < end {
            switch base[pos] {
            case 0x20, 0x09: pos += 1
            case 0x0A, 0x0D:
                summary.hasStructuralNewlines = true
                pos += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int, summary: inout Summary) -> Bool {
        guard pos < end, depth <= JSONScanner.maxDepth else { return false }
        switch base[pos] {
        case UInt8(ascii: "{"): return object(depth: depth, summary: &summary, topLevel: false)
        case UInt8(ascii: "["): return array(depth: depth, summary: &summary)
        case UInt8(ascii: "\""): return string(capture: nil)
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number() != nil
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard end - pos >= n else { return false }
        let w = word.utf8Start
        for i in 0..<n where base[pos + i] != w[i] { return false }
        pos += n
        return true
    }

    /// Returns the range of the number's text.
    private mutating func number() -> Range<Int>? {
        let start = pos
        if pos < end, base[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < end else { return nil }
        if base[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if isDigit(base[pos]) {
            while pos < end, isDigit(base[pos]) { pos += 1 }
        } else {
            return nil
        }
        if pos < end, base[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < end, isDigit(base[pos]) else { return nil }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        if pos < end, base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, isDigit(base[pos]) else { return nil }
            while pos < end, isDigit(base[pos]) { pos += 1 }
        }
        return start..<pos
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private mutating func array(depth: Int, summary: inout Summary) -> Bool {
        pos += 1  // [
        skipWhitespace(&summary)
        guard pos < end else { return false }
        if base[pos] == UInt8(ascii: "]") {
            pos += 1
            return true
        }
        while true {
            guard value(depth: depth + 1, summary: &summary) else { return false }
            guard let closed = separator(closing: UInt8(ascii: "]"), &summary) else { return false }
            if closed { return true }
        }
    }

    /// After an element or member: `,` goes on (false), `closing` ends the container (true),
    /// anything else is invalid (nil).
    private mutating func separator(closing: UInt8, _ summary: inout Summary) -> Bool? {
        skipWhitespace(&summary)
        guard pos < end else { return nil }
        switch base[pos] {
        case UInt8(ascii: ","):
            pos += 1
            skipWhitespace(&summary)
            return false
        case closing:
            pos += 1
            return true
        default:
            return nil
        }
    }

    private enum Member { case type, id, method, other }

    private mutating func object(depth: Int, summary: inout Summary, topLevel: Bool) -> Bool {
        guard depth <= JSONScanner.maxDepth else { return false }
        pos += 1  // {
        skipWhitespace(&summary)
        guard pos < end else { return false }
        if base[pos] == UInt8(ascii: "}") {
            pos += 1
            return true
        }
        while true {
            guard pos < end, base[pos] == UInt8(ascii: "\"") else { return false }
            var member = Member.other
            if topLevel {
                // Keys are compared as raw bytes; only a key with escapes is decoded.
                let keyStart = pos + 1
                guard string(capture: nil) else { return false }
                let raw = UnsafeRawBufferPointer(rebasing: base[keyStart..<(pos - 1)])
                var key: String
                if raw.contains(UInt8(ascii: "\\")) {
                    let end = pos
                    pos = keyStart - 1
                    key = ""
                    guard string(capture: &key) else { return false }
                    pos = end
                } else if raw.elementsEqual("type".utf8) {
                    key = "type"
                } else if raw.elementsEqual("id".utf8) {
                    key = "id"
                } else if raw.elementsEqual("method".utf8) {
                    key = "method"
                } else {
                    key = raw.first == UInt8(ascii: "_") ? "_" : ""
                }
                switch key {
                case "type": member = .type
                case "id": member = .id
                case "method": member = .method
                default:
                    member = .other
                    if key.utf8.first == UInt8(ascii: "_") { summary.hasReservedMembers = true }
                }
            } else {
                guard string(capture: nil) else { return false }
            }
            skipWhitespace(&summary)
            guard pos < end, base[pos] == UInt8(ascii: ":") else { return false }
            pos += 1
            skipWhitespace(&summary)
            guard pos < end else { return false }
            if member != .other, base[pos] == UInt8(ascii: "\"") {
                var text = ""
                guard string(capture: &text) else { return false }
                switch member {
                case .type: summary.type = text
                case .id: summary.id = text
                case .method: summary.method = text
                case .other: break
                }
            } else if member == .id, base[pos] == UInt8(ascii: "-") || isDigit(base[pos]) {
                // A value that starts like a number must be one.
                guard let range = number() else { return false }
                summary.id = String(decoding: UnsafeRawBufferPointer(rebasing: base[range]), as: UTF8.self)
            } else {
                guard value(depth: depth + 1, summary: &summary) else { return false }
            }
            guard let closed = separator(closing: UInt8(ascii: "}"), &summary) else { return false }
            if closed { return true }
        }
    }

    /// Validates a string starting at `"`; decodes it into `capture` when given.
    private mutating func string(capture: UnsafeMutablePointer<String>?) -> Bool {
        pos += 1  // opening quote
        let start = pos
        var simple = true  // no escapes: the capture is a plain slice
        var scalars = String.UnicodeScalarView()
        while pos < end {
            let b = base[pos]
            switch b {
            case UInt8(ascii: "\""):
                if let capture {
                    capture.pointee = simple
                        ? String(decoding: UnsafeRawBufferPointer(rebasing: base[start..<pos]), as: UTF8.self)
                        : String(scalars)
                }
                pos += 1
                return true
            case UInt8(ascii: "\\"):
                if capture != nil, simple {
                    simple = false
                    scalars.append(contentsOf: String(decoding: UnsafeRawBufferPointer(rebasing: base[start..<pos]), as: UTF8.self).unicodeScalars)
                }
                pos += 1
                guard pos < end else { return false }
                let e = base[pos]
                pos += 1
                var scalar: Unicode.Scalar
                switch e {
                case UInt8(ascii: "\""): scalar = "\""
                case UInt8(ascii: "\\"): scalar = "\\"
                case UInt8(ascii: "/"): scalar = "/"
                case UInt8(ascii: "b"): scalar = "\u{08}"
                case UInt8(ascii: "f"): scalar = "\u{0C}"
                case UInt8(ascii: "n"): scalar = "\n"
                case UInt8(ascii: "r"): scalar = "\r"
                case UInt8(ascii: "t"): scalar = "\t"
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return false }
                    if unit >= 0xD800 && unit < 0xDC00 {
                        // A high surrogate must be followed by an escaped low one.
                        guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                            return false
                        }
                        pos += 2
                        guard let low = hex4(), low >= 0xDC00 && low < 0xE000 else { return false }
                        let combined = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        guard let s = Unicode.Scalar(combined) else { return false }
                        scalar = s
                    } else if unit >= 0xDC00 && unit < 0xE000 {
                        return false
                    } else {
                        guard let s = Unicode.Scalar(unit) else { return false }
                        scalar = s
                    }
                default: return false
                }
                if capture != nil { scalars.append(scalar) }
            case 0x00..<0x20:
                return false
            case 0x20..<0x80:
                if capture != nil, !simple { scalars.append(Unicode.Scalar(b)) }
                pos += 1
            default:
                guard let scalar = utf8Scalar() else { return false }
                if capture != nil, !simple { scalars.append(scalar) }
            }
        }
        return false
    }

    private mutating func hex4() -> UInt16? {
        guard end - pos >= 4 else { return nil }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let c = base[pos]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            case 0x41...0x46: d = c - 0x41 + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
            pos += 1
        }
        return v
    }

    /// Decodes one multi-byte UTF-8 sequence at `pos` (RFC 3629: no overlongs, no surrogates).
    private mutating func utf8Scalar() -> Unicode.Scalar? {
        let b0 = base[pos]
        var need: Int
        var value: UInt32
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1; value = UInt32(b0 & 0x1F)
        case 0xE0: need = 2; value = UInt32(b0 & 0x0F); lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2; value = UInt32(b0 & 0x0F)
        case 0xED: need = 2; value = UInt32(b0 & 0x0F); upperBound = 0x9F
        case 0xF0: need = 3; value = UInt32(b0 & 0x07); lowerBound = 0x90
        case 0xF1...0xF3: need = 3; value = UInt32(b0 & 0x07)
        case 0xF4: need = 3; value = UInt32(b0 & 0x07); upperBound = 0x8F
        default: return nil
        }
        guard end - pos > need else { return nil }
        pos += 1
        for i in 0..<need {
            let b = base[pos]
            if i == 0 {
                guard b >= lowerBound && b <= upperBound else { return nil }
            } else {
                guard b >= 0x80 && b <= 0xBF else { return nil }
            }
            value = value << 6 | UInt32(b & 0x3F)
            pos += 1
        }
        return Unicode.Scalar(value)
    }
}
