@testable import AmarreJSON
import Foundation
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("writing what was parsed gives back the same text, member order and number text kept")
    func roundTripKeepsOrderAndNumbers() throws {
        let text = #"{"z":1,"a":[true,false,null,-0.5,1e3,12345678901234567890],"m":{"k":"v"},"s":"é\n\"\\😀"}"#
        let value = try #require(JSONValue.parse(text))
        #expect(value.jsonText == #"{"z":1,"a":[true,false,null,-0.5,1e3,12345678901234567890],"m":{"k":"v"},"s":"é\n\"\\😀"}"#)
    }

    @Test("escapes, surrogate pairs and control characters decode like Foundation's parser")
    func decodesLikeFoundation() throws {
        let text = #"{"s":"a\u00e9\ud83d\ude00\t\/\b\f\r\u0001"}"#
        let ours = try #require(JSONValue.parse(text)?["s"]?.stringValue)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let theirs = try #require(object?["s"] as? String)
        #expect(ours == theirs)
        #expect(JSONValue.parse(JSONValue.string(ours).jsonText)?.stringValue == ours)
    }

    @Test(
        "text that is not exactly one JSON value is refused",
        arguments: [
            "", "{", #"{"a":}"#, "[1,]", "01", "1.", "tru", #""\x""#, #""\ud800""#, "{} {}", "\"a\nb\"",
            #"{"a" 1}"#, "nul", "-",
        ])
    func refusesInvalid(text: String) {
        #expect(JSONValue.parse(text) == nil)
    }

    @Test("nesting deeper than the limit is refused instead of overflowing the stack")
    func boundsDepth() {
        let deep = String(repeating: "[", count: JSONValue.maxParseDepth + 1) + String(repeating: "]", count: JSONValue.maxParseDepth + 1)
        let fine = String(repeating: "[", count: JSONValue.maxParseDepth) + String(repeating: "]", count: JSONValue.maxParseDepth)
        #expect(JSONValue.parse(deep) == nil)
        #expect(JSONValue.parse(fine) != nil)
    }

    @Test("numbers read as Int and Double when they are")
    func numberAccessors() {
        #expect(JSONValue.number("42").intValue == 42)
        #expect(JSONValue.number("4.2e1").intValue == 42)
        #expect(JSONValue.number("0.5").intValue == nil)
        #expect(JSONValue.number("0.5").doubleValue == 0.5)
        #expect(JSONValue.double(.nan) == .null)
    }
}
