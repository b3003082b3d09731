import AmarreJSON
import AmarreTestSupport
import Foundation
import Testing

private func scan(_ text: String) -> JSONScanner.Summary? { JSONScanner.scan(Array(text.utf8)) }
private func scan(bytes: [UInt8]) -> JSONScanner.Summary? { JSONScanner.scan(bytes) }
/// `"` + bytes + `"` as a JSON text.
private func quoted(_ bytes: [UInt8]) -> [UInt8] { [0x22] + bytes + [0x22] }

@Suite("JSONScanner: validity")
struct JSONScannerValidityTests {
    @Test(
        "valid JSON texts are accepted",
        arguments: [
            "{}", "[]", #""""#, "0", "-0", "1", "-1", "123", "1.5", "-0.25", "1e10", "1E10", "1e+2", "1e-2",
            "-1.5e-3", "0.0e0", "true", "false", "null", #"{"a":1}"#, #"{"a":[1,2,{"b":null}]}"#,
            #"[1,"two",true,false,null,{},[]]"#, " \t\r\n{ \"a\" : 1 , \"b\" : [ ] } \t\r\n",
            #"{"a":1,"a":2}"#, #""\"\\\/\b\f\n\r\t""#, #""\u0041\u00e9\u20AC\uD83D\uDE00""#, #""\u0000""#,
            "\"\u{7F}\"", "\"é€😀\"", "[[[[[]]]]]", #"{"":""}"#, "123456789012345678901234567890",
        ])
    func acceptsValid(text: String) {
        #expect(scan(text) != nil)
    }

    @Test(
        "invalid JSON texts are refused",
        arguments: [
            "", " ", "\n", "{", "}", "[", "]", "[1,]", "[,1]", "[1 2]", "{,}", #"{"a":1,}"#, #"{"a" 1}"#,
            #"{"a":}"#, "{a:1}", "{'a':1}", #"{"a":1 "b":2}"#, #"{1:2}"#, "01", "-01", "00", "1.", ".5", "+1",
            "-", "1e", "1e+", "1E-", "0x10", "NaN", "Infinity", "-Infinity", "1.5.", "tru", "True", "nul",
            "nullx", "falsey", "undefined", #""abc"#, #""\x""#, #""\U0041""#, #""\u12""#, #""\u12G4""#,
            #""\"#, "{} x", "{}{}", "1 2", #"{"a":1},"#, "[] ]", "{}\u{0}", "\u{FEFF}{}", "// c\n{}",
            #"{"a":1}/"#,
        ])
    func refusesInvalid(text: String) {
        #expect(scan(text) == nil)
    }

    @Test(
        "a member value that only starts like a number is refused",
        arguments: [
            #"{"id":-"x"}"#, #"{"id":-true}"#, #"{"id":-[1]}"#, #"{"id":-{}}"#, #"{"id":1.[2]}"#,
            #"{"id":1e"x"}"#, #"{"id":-null}"#,
        ])
    func refusesBrokenNumericID(text: String) {
        #expect(scan(text) == nil)
    }

    @Test(
        "a raw control character inside a string is refused",
        arguments: Array(UInt8(0x00)...UInt8(0x1F)))
    func refusesControlCharacters(byte: UInt8) {
        #expect(scan(bytes: quoted([0x61, byte, 0x62])) == nil)
    }

    @Test(
        "lone or mismatched surrogate escapes are refused",
        arguments: [
            #""\uD83D""#, #""\uD83Dx""#, #""\uD83D\u0041""#, #""\uDE00""#, #""\uDE00\uD83D""#,
            #""\uD83D\uD83D""#, #""\uD83D\n""#, #""\uDBFF\uE000""#, #""\uD800\u""#,
        ])
    func refusesLoneSurrogates(text: String) {
        #expect(scan(text) == nil)
    }

    @Test(
        "invalid UTF-8 inside a string is refused",
        arguments: [
            [0xFF], [0xFE], [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],
            [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3],
            [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3, 0x41], [0xE2, 0x41, 0xAC], [0xE2, 0x82, 0x41],
        ] as [[UInt8]])
    func refusesInvalidUTF8(bytes: [UInt8]) {
        #expect(scan(bytes: quoted(bytes)) == nil)
    }

    @Test(
        "UTF-8 at the edges of each encoding length is accepted",
        arguments: [
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
            [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]])
    func acceptsEdgeUTF8(bytes: [UInt8]) {
        #expect(scan(bytes: quoted(bytes)) != nil)
    }

    @Test("a byte that is not ASCII outside a string is refused")
    func refusesNonASCIIOutsideStrings() {
        #expect(scan(bytes: [0x5B, 0xC3, 0xA9, 0x5D]) == nil)
        #expect(scan(bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == nil)
    }

    @Test("string contents are accepted exactly when they are valid UTF-8 (random bytes)")
    func stringValidityMatchesUTF8() {
        var rng = SplitMix(seed: 7)
        // Printable ASCII except `"` and `\`, plus every byte >= 0x80.
        let alphabet: [UInt8] = (0x20...0xFF).filter { $0 != 0x22 && $0 != 0x5C }
        for _ in 0..<3000 {
            let count = Int(rng.next() % 12)
            let body = (0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let expected = String(validating: body, as: UTF8.self) != nil
            #expect((scan(bytes: quoted(body)) != nil) == expected, "bytes \(body)")
        }
    }

    @Test("nesting up to the depth limit is accepted, one level more is refused")
    func depthLimit() {
        let n = JSONScanner.maxDepth
        #expect(scan(String(repeating: "[", count: n) + String(repeating: "]", count: n)) != nil)
        #expect(scan(String(repeating: "[", count: n + 1) + String(repeating: "]", count: n + 1)) == nil)
        let objects = String(repeating: #"{"a":"#, count: n - 1) + "{}" + String(repeating: "}", count: n - 1)
        #expect(scan(objects) != nil)
        let deeper = String(repeating: #"{"a":"#, count: n) + "{}" + String(repeating: "}", count: n)
        #expect(scan(deeper) == nil)
    }

    @Test("absurdly deep input is refused without exhausting the stack")
    func veryDeep() {
        let n = 200_000
        #expect(scan(String(repeating: "[", count: n) + String(repeating: "]", count: n)) == nil)
        #expect(scan(String(repeating: #"{"a":"#, count: n)) == nil)
    }

    @Test("a collection without contiguous storage is scanned too")
    func nonContiguousCollection() {
        let bytes = Array(#"{"type":"x"}"#.utf8)
        #expect(JSONScanner.scan(bytes.lazy.map { $0 })?.type == "x")
        #expect(JSONScanner.scan(Array("[".utf8).lazy.map { $0 }) == nil)
    }
}

@Suite("JSONScanner: extraction")
struct JSONScannerExtractionTests {
    @Test("top-level type, id and method are reported")
    func reportsMembers() throws {
        let s = try #require(scan(#"{"type":"extension_ui_request","id":"abc","method":"select","x":[1]}"#))
        #expect(s.isObject)
        #expect(s.type == "extension_ui_request")
        #expect(s.id == "abc")
        #expect(s.method == "select")
        #expect(!s.hasStructuralNewlines)
    }

    @Test("escaped strings are decoded")
    func decodesEscapes() throws {
        let s = try #require(scan(#"{"type":"a\"b\\c\/d\n","id":"\u0041\u00e9\uD83D\uDE00","method":"\tcafé😀"}"#))
        #expect(s.type == "a\"b\\c/d\n")
        #expect(s.id == "Aé😀")
        #expect(s.method == "\tcafé😀")
    }

    @Test("non-ASCII text before and after an escape is kept")
    func mixedNonASCIIAndEscapes() throws {
        let s = try #require(scan(#"{"type":"é€\n😀ü"}"#))
        #expect(s.type == "é€\n😀ü")
    }

    @Test("escaped member names are recognised")
    func escapedKeys() throws {
        let s = try #require(scan(#"{"t\u0079pe":"x","\u0069d":"y"}"#))
        #expect(s.type == "x")
        #expect(s.id == "y")
    }

    @Test("a numeric id is reported as its text", arguments: ["42", "-1", "0", "1.5e3", "-0.0E-2"])
    func numericID(number: String) throws {
        let s = try #require(scan(#"{"id":"# + number + #","type":"t"}"#))
        #expect(s.id == number)
        #expect(s.type == "t")
    }

    @Test("ids, types and methods that are not strings are not reported", arguments: ["true", "null", "{}", "[1]", "false"])
    func nonStringMembers(value: String) throws {
        let s = try #require(scan(#"{"id":"# + value + #","type":"# + value + #","method":"# + value + "}"))
        #expect(s.id == nil)
        #expect(s.type == nil)
        #expect(s.method == nil)
    }

    @Test("a numeric type or method is not reported")
    func numericTypeIgnored() throws {
        let s = try #require(scan(#"{"type":1,"method":2}"#))
        #expect(s.type == nil)
        #expect(s.method == nil)
    }

    @Test("nested members named type, id or method are not reported")
    func nestedKeysIgnored() throws {
        let s = try #require(scan(#"{"data":{"type":"inner","id":"i","method":"m"},"list":[{"type":"x"}]}"#))
        #expect(s.isObject)
        #expect(s.type == nil)
        #expect(s.id == nil)
        #expect(s.method == nil)
    }

    @Test("a top-level member after a nested one is still reported")
    func topLevelAfterNested() throws {
        let s = try #require(scan(#"{"data":{"type":"inner"},"type":"outer"}"#))
        #expect(s.type == "outer")
    }

    @Test("a string value equal to a member name is not taken for one")
    func valuesAreNotKeys() throws {
        let s = try #require(scan(#"{"a":"type","b":"id"}"#))
        #expect(s.type == nil)
        #expect(s.id == nil)
    }

    @Test("values that are not objects report nothing", arguments: [#"[{"type":"x"}]"#, #""type""#, "1", "null"])
    func nonObjects(text: String) throws {
        let s = try #require(scan(text))
        #expect(!s.isObject)
        #expect(s.type == nil)
        #expect(s.id == nil)
    }

    @Test("an invalid object reports nothing even if its members were seen")
    func invalidAfterMembers() {
        #expect(scan(#"{"type":"x","id":"y",}"#) == nil)
    }

    @Test("newlines in whitespace outside strings are noticed")
    func structuralNewlines() throws {
        #expect(try #require(scan("{\n\"a\": 1\n}")).hasStructuralNewlines)
        #expect(try #require(scan("{\"a\":\r1}")).hasStructuralNewlines)
        #expect(try #require(scan("[1,\n2]")).hasStructuralNewlines)
        #expect(try #require(scan("{}\n")).hasStructuralNewlines)
        #expect(try #require(scan("\r\n{}")).hasStructuralNewlines)
    }

    @Test("escaped newlines inside strings are not structural")
    func escapedNewlines() throws {
        let s = try #require(scan(#"{"a":"x\ny\r","b":[" \n "]}"#))
        #expect(!s.hasStructuralNewlines)
        #expect(try #require(scan("{ \"a\" :\t1 }")).hasStructuralNewlines == false)
    }
}
