import AmarreCore
import AmarreJSON
import AmarreSession
import Testing

private func sequenced(_ seq: Int64, _ text: String) -> String {
    let bytes = Array(text.utf8)
    let out = bytes.withUnsafeBytes { SequencedRecord.inject(seq: seq, into: $0) }
    return String(decoding: out, as: UTF8.self)
}

@Suite("SequencedRecord")
struct SequencedRecordTests {
    @Test(
        "the sequence number becomes the object's first member, the rest byte for byte",
        arguments: [
            (#"{"type":"x","id":1}"#, #"{"_seq":7,"type":"x","id":1}"#),
            (#"{ "a" : [1, {"b":2}] }"#, #"{"_seq":7, "a" : [1, {"b":2}] }"#),
            ("{\n  \"a\": 1\n}", "{\"_seq\":7,\n  \"a\": 1\n}"),
            ("{}", #"{"_seq":7}"#),
            ("{ \n\t}", #"{"_seq":7}"#),
            ("  {\"a\":1}", #"{"_seq":7,"a":1}"#),
            (#"{"t":"é😀"}"#, #"{"_seq":7,"t":"é😀"}"#),
        ])
    func inject(input: String, output: String) {
        #expect(sequenced(7, input) == output)
    }

    @Test("the result is still valid JSON and keeps the members the scanner reports")
    func stillValid() throws {
        let text = #"{"type":"extension_ui_request","id":"q","method":"select"}"#
        let out = Array(sequenced(123_456_789_012, text).utf8)
        let s = try #require(JSONScanner.scan(out))
        #expect(s.type == "extension_ui_request")
        #expect(s.id == "q")
        #expect(s.method == "select")
    }

    @Test("a line that is not an object is wrapped as amarre.raw with its text escaped")
    func wrapRaw() {
        let out = SequencedRecord.wrapRaw(seq: 3, line: "plain \"text\"\twith\u{01}")
        #expect(String(decoding: out, as: UTF8.self) == #"{"type":"amarre.raw","_seq":3,"line":"plain \"text\"\twith\u0001"}"#)
        #expect(JSONScanner.scan(out)?.type == "amarre.raw")
    }
}

@Suite("SequencedRecord: an agent's reserved members")
struct SequencedRecordReservedTests {
    @Test(
        "top-level _ members are dropped; the rest keeps its order, nesting and number text",
        arguments: [
            (#"{"type":"t","_seq":99,"_x":true,"y":2}"#, #"{"_seq":7,"type":"t","y":2}"#),
            (#"{"z":1.50,"_a":{},"a":{"_keep":"é/\n"},"m":[1e3]}"#, #"{"_seq":7,"z":1.50,"a":{"_keep":"é/\n"},"m":[1e3]}"#),
            (#"{"_only":1}"#, #"{"_seq":7}"#),
        ])
    func dropsReserved(input: String, output: String) {
        let out = Array(input.utf8).withUnsafeBytes { SequencedRecord.injectDroppingReserved(seq: 7, into: $0) }
        #expect(out.map { String(decoding: $0, as: UTF8.self) } == output)
    }

    @Test("not an object: nil")
    func notAnObject() {
        #expect(Array("[1]".utf8).withUnsafeBytes { SequencedRecord.injectDroppingReserved(seq: 1, into: $0) } == nil)
    }
}
