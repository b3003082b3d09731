import AmarreCore
import AmarreTestSupport
import Foundation
import Testing

@Suite("SessionID")
struct SessionIDTests {
    @Test("twelve lowercase hex digits are a session id", arguments: ["0123456789ab", "abcdefabcdef", "000000000000"])
    func acceptsCanonicalForm(text: String) {
        #expect(SessionID(text)?.rawValue == text)
    }

    @Test(
        "anything else is not a session id",
        arguments: [
            "", "0123456789a", "0123456789abc", "0123456789AB", "0123456789ag", "0123456789a ",
            " 123456789ab", "0123456789a/", "../../etc/pa", "0123456789é", "ｆ23456789abc",
        ])
    func rejectsOtherForms(text: String) {
        #expect(SessionID(text) == nil)
    }

    @Test("a substring of a path can be checked without copying it first")
    func acceptsSubstring() {
        let path = "/sessions/0123456789ab"
        let segment = path.split(separator: "/").last!  // the literal has a last segment
        #expect(SessionID(segment)?.rawValue == "0123456789ab")
    }

    @Test("random ids are always valid and differ")
    func randomIdsAreValid() {
        var seen = Set<SessionID>()
        for _ in 0..<200 {
            let id = SessionID.random()
            #expect(SessionID(id.rawValue) == id)
            seen.insert(id)
        }
        #expect(seen.count == 200)
    }

    @Test("a seeded generator gives the same id")
    func seededRandomIsDeterministic() {
        var a = SplitMix(seed: 42)
        var b = SplitMix(seed: 42)
        let first = SessionID.random(using: &a)
        #expect(first == SessionID.random(using: &b))
        #expect(SessionID(first.rawValue) != nil)
    }

    @Test("description is the raw value and ordering follows it")
    func descriptionAndOrder() throws {
        let a = try #require(SessionID("00000000000a"))
        let b = try #require(SessionID("00000000000b"))
        #expect(a.description == "00000000000a")
        #expect("\(b)" == "00000000000b")
        #expect(a < b)
        #expect(!(b < a))
    }

    @Test("encodes as a bare JSON string and decodes back")
    func codableRoundTrip() throws {
        let id = try #require(SessionID("0123456789ab"))
        let data = try JSONEncoder().encode([id])
        #expect(String(decoding: data, as: UTF8.self) == #"["0123456789ab"]"#)
        #expect(try JSONDecoder().decode([SessionID].self, from: data) == [id])
    }

    @Test("decoding a string that is not an id fails", arguments: [#"["xyz"]"#, #"["0123456789AB"]"#, "[12]"])
    func decodingRejectsInvalid(json: String) {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([SessionID].self, from: Data(json.utf8))
        }
    }
}
