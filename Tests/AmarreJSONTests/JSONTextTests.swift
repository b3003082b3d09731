import AmarreJSON
import Foundation
import Testing

@Suite("JSONText")
struct JSONTextTests {
    @Test(
        "quote escapes what RFC 8259 requires",
        arguments: [
            ("", #""""#),
            ("plain", #""plain""#),
            (#"a"b"#, #""a\"b""#),
            (#"back\slash"#, #""back\\slash""#),
            ("nl\ncr\rtab\t", #""nl\ncr\rtab\t""#),
            ("\u{00}\u{1F}\u{08}\u{0C}", #""\u0000\u001f\u0008\u000c""#),
            ("/", #""/""#),
            ("\u{7F}é😀", "\"\u{7F}é😀\""),
        ])
    func quote(input: String, expected: String) {
        #expect(JSONText.quote(input) == expected)
    }

    @Test("allControls also escapes DEL, C1 and the line separators, and still decodes back")
    func allControls() throws {
        let text = "a\u{7F}\u{85}\u{9F}\u{2028}\u{2029}é"
        let quoted = JSONText.quote(text, allControls: true)
        #expect(quoted == #""a\u007f\u0085\u009f\u2028\u2029é""#)
        #expect(try JSONDecoder().decode(String.self, from: Data(quoted.utf8)) == text)
    }

    @Test("quoted strings decode back to the original")
    func roundTrip() throws {
        var all = ""
        for v in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        all += "é€😀\u{2028}"
        let quoted = JSONText.quote(all)
        let decoded = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
        #expect(decoded == all)
        #expect(JSONScanner.scan(Array(quoted.utf8)) != nil)
    }
}
