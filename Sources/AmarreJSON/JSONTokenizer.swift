// The one lexer of AmarreJSON: every JSON text the module reads (`JSONScanner.scan`,
// `JSONValue.parse`) is cut into tokens here, through `JSONReader`, which adds the grammar.

/// A string token: where its contents lie and whether they hold escapes. Its validity
/// (escapes, surrogate pairs, UTF-8, no raw control characters) was checked when it was lexed.
struct JSONStringToken: Equatable {
    /// The contents, quotes excluded, as offsets into the tokenizer's bytes.
    var range: Range<Int>
    /// The contents hold at least one backslash escape, so they are not their own value.
    var hasEscapes: Bool
}

/// Cuts one buffer of JSON text (RFC 8259) into tokens, skipping whitespace.
///
/// Everything lexical is decided here and only here: the whitespace rule (space, tab, LF, CR;
/// a LF or CR is remembered in `sawNewline`), the number grammar, the literals, and strings:
/// escapes and surrogate pairs, no raw control characters, and UTF-8 through
/// `UTF8Validation.sequenceLength`. It knows nothing of nesting: see `JSONReader`.
struct JSONTokenizer {
    enum Token: Equatable {
        case beginObject, endObject, beginArray, endArray, colon, comma
        case string(JSONStringToken)
        /// The number's text.
        case number(Range<Int>)
        case `true`, `false`, null
        /// Nothing but whitespace is left.
        case end
        /// What starts at `position` is no token, or a malformed one.
        case invalid
    }

    let bytes: UnsafeRawBufferPointer
    private let count: Int
    /// Where the next token (or the whitespace before it) starts.
    private(set) var position = 0
    /// Whitespace skipped so far held a LF or CR.
    private(set) var sawNewline = false

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.count = bytes.count
    }

    mutating func next() -> Token {
        skipWhitespace()
        guard position < count else { return .end }
        switch bytes[position] {
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: ","): position += 1; return .comma
        case UInt8(ascii: ":"): position += 1; return .colon
        case UInt8(ascii: "{"): position += 1; return .beginObject
        case UInt8(ascii: "}"): position += 1; return .endObject
        case UInt8(ascii: "["): position += 1; return .beginArray
        case UInt8(ascii: "]"): position += 1; return .endArray
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        case UInt8(ascii: "t"): return literal("true", .true)
        case UInt8(ascii: "f"): return literal("false", .false)
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return .invalid
        }
    }

    // MARK: Whitespace

    private mutating func skipWhitespace() {
        while position < count {
            switch bytes[position] {
            case 0x20, 0x09: position += 1
            case 0x0A, 0x0D:
                sawNewline = true
                position += 1
            default: return
            }
        }
    }

    // MARK: Literals and numbers

    private mutating func literal(_ word: StaticString, _ token: Token) -> Token {
        let n = word.utf8CodeUnitCount
        guard count - position >= n else { return .invalid }
        let w = word.utf8Start
        for i in 1..<n where bytes[position + i] != w[i] { return .invalid }
        position += n
        return token
    }

    /// RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. A text that only starts
    /// like a number (`-x`, `1.`, `1e`) is invalid.
    private mutating func number() -> Token {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < count else { return .invalid }
        let first = bytes[position]
        if first == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(first) {
            position += 1
            skipDigits()
        } else {
            return .invalid
        }
        if position < count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < count, isDigit(bytes[position]) else { return .invalid }
            skipDigits()
        }
        if position < count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < count, isDigit(bytes[position]) else { return .invalid }
            skipDigits()
        }
        return .number(start..<position)
    }

    @inline(__always)
    private func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    private mutating func skipDigits() {
        while position < count, isDigit(bytes[position]) { position += 1 }
    }

    // MARK: Strings

    /// Lexes a string from its opening quote to past its closing one.
    private mutating func string() -> Token {
        position += 1  // the opening quote
        let start = position
        var hasEscapes = false
        while true {
            // Eight bytes at a time while none is a quote, a backslash, a control character or
            // not ASCII; stops at the first one that is.
            while count - position >= 8 {
                let special = Self.specialBytes(bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                if special != 0 {
                    position += special.trailingZeroBitCount >> 3
                    break
                }
                position += 8
            }
            guard position < count else { return .invalid }
            let b = bytes[position]
            switch b {
            case UInt8(ascii: "\""):
                position += 1
                return .string(JSONStringToken(range: start..<(position - 1), hasEscapes: hasEscapes))
            case UInt8(ascii: "\\"):
                hasEscapes = true
                guard escape() else { return .invalid }
            case 0x00..<0x20:
                return .invalid
            case 0x20..<0x80:
                position += 1
            default:
                // A run of characters that are not ASCII, one sequence after the other.
                repeat {
                    let length = UTF8Validation.sequenceLength(bytes, at: position)
                    guard length != 0 else { return .invalid }
                    position += length
                } while position < count && bytes[position] >= 0x80
            }
        }
    }

    /// One bit (the top one) set in each byte of `word` (as read from memory, so the lowest
    /// set bit marks the first such byte) that is a quote, a backslash, below 0x20 or above 0x7F.
    /// Subtraction borrows run only upwards from a byte that is itself flagged, so the first
    /// flag is exact.
    @inline(__always)
    private static func specialBytes(_ word: UInt64) -> UInt64 {
        let w = UInt64(littleEndian: word)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)  // zero bytes where w has a quote
        let backslash = w ^ (ones &* 0x5C)
        return ((quote &- ones) | (backslash &- ones) | (w &- ones &* 0x20) | w) & (ones &* 0x80)
    }

    /// Moves past the escape at `position` (a backslash); false when RFC 8259 has no such escape,
    /// or it is a `\u` surrogate that is not half of a pair, high then low.
    private mutating func escape() -> Bool {
        guard count - position >= 2 else { return false }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
            return true
        case UInt8(ascii: "u"):
            guard let unit = Self.hex4(bytes, at: position + 2) else { return false }
            position += 6
            switch unit {
            case 0xD800..<0xDC00:
                guard count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u"),
                    let low = Self.hex4(bytes, at: position + 2), (0xDC00..<0xE000).contains(low)
                else { return false }
                position += 6
                return true
            case 0xDC00..<0xE000:
                return false
            default:
                return true
            }
        default:
            return false
        }
    }

    /// The value of the four hex digits at `i`; nil when there are fewer or one is not a digit.
    private static func hex4(_ bytes: UnsafeRawBufferPointer, at i: Int) -> UInt32? {
        guard bytes.count - i >= 4 else { return nil }
        var value: UInt32 = 0
        for k in i..<(i + 4) {
            let c = bytes[k]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    // MARK: Values of tokens

    /// The bytes of a token's range.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// The text of a number token (or of any range, taken as UTF-8).
    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes(range), as: UTF8.self)
    }

    /// The value of a string token lexed by this tokenizer: its contents with escapes decoded.
    func string(_ token: JSONStringToken) -> String {
        let raw = bytes(token.range)
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        // Every escape is at least as long as the UTF-8 it stands for.
        return String(unsafeUninitializedCapacity: raw.count) { out in
            var i = 0
            var o = 0
            while i < raw.count {
                // Copy the run up to the next backslash in one go.
                let runEnd = Self.firstBackslash(in: raw, from: i)
                if runEnd > i {
                    UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: out[o..<(o + runEnd - i)]))
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[i..<runEnd]))
                    o += runEnd - i
                    i = runEnd
                }
                guard i < raw.count else { break }
                let escape = raw[i + 1]
                i += 2
                let byte: UInt8
                switch escape {
                case UInt8(ascii: "b"): byte = 0x08
                case UInt8(ascii: "f"): byte = 0x0C
                case UInt8(ascii: "n"): byte = 0x0A
                case UInt8(ascii: "r"): byte = 0x0D
                case UInt8(ascii: "t"): byte = 0x09
                case UInt8(ascii: "u"):
                    // Lexing checked the digits and the pairing.
                    var scalar = Self.hex4(raw, at: i) ?? 0xFFFD
                    i += 4
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        let low = Self.hex4(raw, at: i + 2) ?? 0xDC00
                        i += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    o += Self.encode(scalar, into: out, at: o)
                    continue
                default: byte = escape  // `"`, `\` and `/` stand for themselves
                }
                out[o] = byte
                o += 1
            }
            return o
        }
    }

    /// The offset of the first backslash in `raw` from `i` on, or `raw.count`; eight bytes at a time.
    private static func firstBackslash(in raw: UnsafeRawBufferPointer, from i: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        var i = i
        while raw.count - i >= 8 {
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ (ones &* 0x5C)
            let found = (x &- ones) & ~x & (ones &* 0x80)
            if found != 0 { return i + found.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < raw.count, raw[i] != UInt8(ascii: "\\") { i += 1 }
        return i
    }

    /// Writes the UTF-8 of `scalar` (not a surrogate) at `o`; returns its length.
    private static func encode(_ scalar: UInt32, into out: UnsafeMutableBufferPointer<UInt8>, at o: Int) -> Int {
        switch scalar {
        case ..<0x80:
            out[o] = UInt8(scalar)
            return 1
        case ..<0x800:
            out[o] = UInt8(0xC0 | scalar >> 6)
            out[o + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case ..<0x10000:
            out[o] = UInt8(0xE0 | scalar >> 12)
            out[o + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[o + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            out[o] = UInt8(0xF0 | scalar >> 18)
            out[o + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[o + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[o + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}
