// The grammar of one JSON text over `JSONTokenizer`'s tokens, without recursion: what
// `JSONScanner.scan` and `JSONValue.parse` both read through.

/// Reads exactly one JSON value surrounded by optional whitespace (RFC 8259) as a stream of
/// events, checking the grammar and the nesting limit as it goes.
///
/// Punctuation is consumed here: a member comes as `.key` (its colon already read) followed
/// by its value's events; a container's values as their events up to its end event. After the
/// value, `.end` confirms that only whitespace followed. The first `.invalid` ends the text:
/// nothing was proven about what came before it, and every later call returns `.invalid` too.
struct JSONReader {
    /// Deepest nesting accepted: a value may start only inside fewer than this many open
    /// containers (a container at this depth must be empty). Deeper input is refused rather
    /// than risking a consumer's stack.
    static let maxDepth = 256

    enum Event: Equatable {
        case beginObject, endObject, beginArray, endArray
        /// A member's name; its value's events come next.
        case key(JSONStringToken)
        case string(JSONStringToken)
        case number(Range<Int>)
        case bool(Bool)
        case null
        /// The value is complete and only whitespace followed it.
        case end
        case invalid
    }

    private(set) var tokenizer: JSONTokenizer
    /// Containers open after the last event: 1 after the top-level container's `.beginObject`
    /// or `.beginArray` and for its members or elements, 0 again after its end.
    private(set) var depth = 0
    private var state = State.value
    private var containers = ContainerKinds()

    private enum State {
        /// A value (at the top, after a colon, after a comma in an array).
        case value
        /// A value or `]` (after `[`).
        case valueOrEnd
        /// A member name (after a comma in an object).
        case key
        /// A member name or `}` (after `{`).
        case keyOrEnd
        /// A comma or the end of the open container; the end of the text at the top.
        case afterValue
        case finished
        case failed
    }

    init(_ bytes: UnsafeRawBufferPointer) {
        tokenizer = JSONTokenizer(bytes)
    }

    /// Whitespace outside strings read so far held a LF or CR.
    var sawNewline: Bool { tokenizer.sawNewline }

    mutating func next() -> Event {
        while true {
            let token = tokenizer.next()
            switch state {
            case .value:
                return value(token)
            case .valueOrEnd:
                if case .endArray = token { return close() }
                return value(token)
            case .key, .keyOrEnd:
                switch token {
                case .string(let name):
                    guard case .colon = tokenizer.next() else { return fail() }
                    state = .value
                    return .key(name)
                case .endObject where state == .keyOrEnd:
                    return close()
                default:
                    return fail()
                }
            case .afterValue:
                guard depth > 0 else {
                    guard case .end = token else { return fail() }
                    state = .finished
                    return .end
                }
                let inObject = containers.isObject(at: depth)
                switch token {
                case .comma:
                    state = inObject ? .key : .value
                    continue
                case .endObject where inObject, .endArray where !inObject:
                    return close()
                default:
                    return fail()
                }
            case .finished:
                return .end
            case .failed:
                return .invalid
            }
        }
    }

    /// A value starting with `token`.
    private mutating func value(_ token: JSONTokenizer.Token) -> Event {
        guard depth < Self.maxDepth else { return fail() }
        switch token {
        case .beginObject:
            depth += 1
            containers.set(isObject: true, at: depth)
            state = .keyOrEnd
            return .beginObject
        case .beginArray:
            depth += 1
            containers.set(isObject: false, at: depth)
            state = .valueOrEnd
            return .beginArray
        case .string(let s):
            state = .afterValue
            return .string(s)
        case .number(let range):
            state = .afterValue
            return .number(range)
        case .true:
            state = .afterValue
            return .bool(true)
        case .false:
            state = .afterValue
            return .bool(false)
        case .null:
            state = .afterValue
            return .null
        case .endObject, .endArray, .colon, .comma, .end, .invalid:
            return fail()
        }
    }

    /// Closes the open container, whose end token was just read.
    private mutating func close() -> Event {
        let wasObject = containers.isObject(at: depth)
        depth -= 1
        state = .afterValue
        return wasObject ? .endObject : .endArray
    }

    private mutating func fail() -> Event {
        state = .failed
        return .invalid
    }
}

/// Whether each open container is an object or an array: one bit per level, 1 to `maxDepth`.
private struct ContainerKinds {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {
        precondition(JSONReader.maxDepth <= 256, "ContainerKinds holds 256 levels")
    }

    func isObject(at level: Int) -> Bool {
        let bit = UInt64(1) << UInt64((level - 1) & 63)
        switch (level - 1) >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func set(isObject: Bool, at level: Int) {
        let bit = UInt64(1) << UInt64((level - 1) & 63)
        let mask = isObject ? bit : 0
        switch (level - 1) >> 6 {
        case 0: words.0 = words.0 & ~bit | mask
        case 1: words.1 = words.1 & ~bit | mask
        case 2: words.2 = words.2 & ~bit | mask
        default: words.3 = words.3 & ~bit | mask
        }
    }
}
