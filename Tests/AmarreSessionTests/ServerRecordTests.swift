import AmarreCore
import AmarreSession
import Foundation
import Testing

@Suite("Server records: one encoder, the wire shapes of SPEC §4")
struct ServerRecordTests {
    @Test(
        "each record's exact text",
        arguments: [
            (ServerRecord.replayGap(from: 3, to: 9), #"{"type":"amarre.replay_gap","from":3,"to":9}"#),
            (.error("replay_failed"), #"{"type":"amarre.error","error":"replay_failed"}"#),
            (.error("already_answered", detail: "first", id: "q\"1"), #"{"type":"amarre.error","error":"already_answered","id":"q\"1","detail":"first"}"#),
            (.error("record_too_large", bytes: 70, limit: 64), #"{"type":"amarre.error","error":"record_too_large","bytes":70,"limit":64}"#),
            (.requestResolved(id: "a", responseJSON: #"{"type":"extension_ui_response","id":"a","confirmed":true}"#),
             #"{"type":"amarre.request_resolved","id":"a","response":{"type":"extension_ui_response","id":"a","confirmed":true}}"#),
            (.requestWithdrawn(id: "b"), #"{"type":"amarre.request_withdrawn","id":"b"}"#),
            (.sessionEvent(.crashed(exitCode: 3, signal: nil)), #"{"type":"amarre.session_event","event":"crashed","exitCode":3,"signal":null}"#),
            (.sessionEvent(.crashed(exitCode: nil, signal: "SIGKILL")), #"{"type":"amarre.session_event","event":"crashed","exitCode":null,"signal":"SIGKILL"}"#),
            (.sessionEvent(.restarting(attempt: 2, delayMs: 2000)), #"{"type":"amarre.session_event","event":"restarting","attempt":2,"delayMs":2000}"#),
            (.sessionEvent(.restartedByRequest), #"{"type":"amarre.session_event","event":"restarted","by":"request"}"#),
            (.sessionEvent(.renamed(name: nil)), #"{"type":"amarre.session_event","event":"renamed","name":null}"#),
            (.pushSent(trigger: "done", tokens: 1, requestId: nil), #"{"type":"amarre.push_sent","trigger":"done","tokens":1}"#),
        ] as [(ServerRecord, String)])
    func text(record: ServerRecord, expected: String) {
        #expect(record.json == expected)
    }

    @Test("hello carries the protocol version and every capability; every record is valid JSON")
    func hello() throws {
        let hello = ServerRecord.hello(.init(
            sessionId: "0123456789ab", instanceId: "i", agent: "pi", status: "running", seq: 7, capabilities: ["seq", "replay"]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(hello.json.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "amarre.hello")
        #expect(object["protocol"] as? String == ControlProtocol.version)
        #expect(object["seq"] as? Int == 7)
        #expect(object["capabilities"] as? [String] == ["seq", "replay"])
    }
}
