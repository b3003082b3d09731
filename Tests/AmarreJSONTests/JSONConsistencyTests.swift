import AmarreJSON
import AmarreTestSupport
import Foundation
import Testing

// The scanner and the parser read through one tokenizer: on any input they must agree on
// what is JSON, and what the scanner reports must be what the parsed tree holds.

/// Random JSON texts: nested values with odd whitespace, escaped and non-ASCII strings, the
/// member names the scanner looks for (some escaped), duplicates.
private struct Generator {
    var rng: SplitMix

    static let whitespace = ["", "", "", " ", "\n", "\t", "\r\n", "  "]
    static let keys = [
        "type", "id", "method", "_seq", "_x", "a", "", #"t\u0079pe"#, #"\u0069d"#, #"\u005fq"#, "méthod", #"ty\npe"#, "id ",
    ]
    static let strings = [
        "", "x", "message_end", "é", "😀", #"a\"b"#, #"\\"#, #"\/"#, #"\b\f\n\r\t"#, #"\u0041"#, #"\u00e9"#,
        #"\uD83D\uDE00"#, #"\u0000"#, "日本語", "\u{7F}", #"line\nline"#, #"\uDBFF\uDFFF"#, "abcdefghabcdefghabcdefgh",
    ]
    static let numbers = ["0", "-0", "1", "-1", "42", "1.5", "-0.25", "1e10", "1E+2", "1e-2", "123456789012345678901234567890"]
    static let noise: [UInt8] = [
        0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x2D, 0x2E, 0x30, 0x31, 0x65, 0x2B, 0x75, 0x0A, 0x00, 0x1F, 0x20,
        0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0x44, 0x38, 0x74, 0x6E,
    ]

    mutating func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    mutating func value(depth: Int = 0) -> String {
        switch depth > 4 ? below(4) : below(7) {
        case 0: return "\"" + pick(Self.strings) + "\""
        case 1: return pick(Self.numbers)
        case 2: return pick(["true", "false", "null"])
        case 3: return "\"" + pick(Self.strings) + pick(Self.strings) + "\""
        case 4, 5:
            return "{" + pick(Self.whitespace)
                + (0..<below(5)).map { _ in
                    "\"" + pick(Self.keys) + "\"" + pick(Self.whitespace) + ":" + pick(Self.whitespace) + value(depth: depth + 1)
                        + pick(Self.whitespace)
                }.joined(separator: "," + pick(Self.whitespace)) + "}"
        default:
            return "[" + pick(Self.whitespace)
                + (0..<below(5)).map { _ in value(depth: depth + 1) + pick(Self.whitespace) }
                    .joined(separator: "," + pick(Self.whitespace)) + "]"
        }
    }

    /// `bytes` with one to three bytes replaced, inserted or removed, or cut short.
    mutating func mutated(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + below(3)) where !b.isEmpty {
            switch below(4) {
            case 0: b[below(b.count)] = pick(Self.noise)
            case 1: b.insert(pick(Self.noise), at: below(b.count + 1))
            case 2: b.remove(at: below(b.count))
            default: b = Array(b[..<below(b.count)])
            }
        }
        return b
    }
}

/// What `JSONScanner` should report about a text that parses to `value`.
private func expectedSummary(_ value: JSONValue) -> (isObject: Bool, type: String?, id: String?, method: String?, reserved: Bool) {
    guard case .object(let members) = value else { return (false, nil, nil, nil, false) }
    var type: String?
    var id: String?
    var method: String?
    for member in members {
        switch (member.key, member.value) {
        case ("type", .string(let s)): type = s
        case ("method", .string(let s)): method = s
        case ("id", .string(let s)), ("id", .number(let s)): id = s
        default: break
        }
    }
    return (true, type, id, method, members.contains { $0.key.utf8.first == UInt8(ascii: "_") })
}

@Suite("JSON: scanner and parser agree")
struct JSONConsistencyTests {
    @Test("on random texts, valid and broken: the same verdict, and the summary is the tree's")
    func scannerMatchesParser() {
        var gen = Generator(rng: SplitMix(seed: 11))
        var valid = 0
        for round in 0..<6000 {
            let text = Array((gen.pick(Generator.whitespace) + gen.value() + gen.pick(Generator.whitespace)).utf8)
            for bytes in [text, gen.mutated(text)] {
                let summary = JSONScanner.scan(bytes)
                let value = JSONValue.parse(bytes)
                #expect((summary == nil) == (value == nil), "round \(round): \(String(decoding: bytes, as: UTF8.self))")
                guard let summary, let value else { continue }
                valid += 1
                let expected = expectedSummary(value)
                #expect(summary.isObject == expected.isObject)
                #expect(summary.type == expected.type)
                #expect(summary.id == expected.id)
                #expect(summary.method == expected.method)
                #expect(summary.hasReservedMembers == expected.reserved, "\(String(decoding: bytes, as: UTF8.self))")
                // Writing what was read reads back the same.
                #expect(JSONValue.parse(value.jsonBytes) == value)
                #expect(JSONScanner.scan(value.jsonBytes)?.hasStructuralNewlines == false)
            }
        }
        #expect(valid > 6000)  // every unmutated text, and some mutated ones
    }

    @Test("random strings with escapes and non-ASCII text decode like Foundation's")
    func stringsDecodeLikeFoundation() throws {
        var gen = Generator(rng: SplitMix(seed: 5))
        let pieces = Generator.strings + ["\\u2028", "\\uFFFF", "\\uE000", "\\uD800\\uDC00", "€", "x y z", "\\t\\t"]
        for _ in 0..<1000 {
            let body = (0..<gen.below(10)).map { _ in gen.pick(pieces) }.joined()
            let text = "\"" + body + "\""
            let theirs = try JSONDecoder().decode(String.self, from: Data(text.utf8))
            #expect(JSONValue.parse(text)?.stringValue == theirs, "\(text)")
            #expect(JSONScanner.scan(Array(#"{"type":\#(text),"id":\#(text)}"#.utf8))?.type == theirs, "\(text)")
        }
    }
}
