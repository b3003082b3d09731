import AmarreCore
import Foundation
import Testing

@Suite("AmarreError")
struct AmarreErrorTests {
    @Test(
        "each code maps to its HTTP status",
        arguments: [
            (AmarreError.Code.notFound, 404), (.badRequest, 400), (.maxSessionsReached, 429),
            (.unknownInstance, 404), (.alreadyRunning, 409), (.notRunning, 409), (.hostUnavailable, 503),
            (.forbiddenOrigin, 403), (.methodNotAllowed, 405), (.payloadTooLarge, 413),
            (.upgradeRequired, 426), (.spawnFailed, 500), (.internalError, 500),
        ])
    func httpStatus(code: AmarreError.Code, status: Int) {
        #expect(AmarreError(code).httpStatus == status)
    }

    @Test("an unknown code is a server error")
    func unknownCodeIs500() {
        #expect(AmarreError(AmarreError.Code(rawValue: "something_new")).httpStatus == 500)
    }

    @Test("codes carry the protocol's error strings")
    func codeStrings() {
        #expect(AmarreError.Code.notFound.rawValue == "not_found")
        #expect(AmarreError.Code.maxSessionsReached.rawValue == "max_sessions_reached")
        #expect(AmarreError.Code.unknownInstance.rawValue == "unknown_instance")
        #expect(AmarreError.Code.alreadyRunning.rawValue == "already_running")
        #expect(AmarreError.Code.badRequest.rawValue == "bad_request")
    }

    @Test("max_sessions_reached carries its limit")
    func maxSessionsBody() {
        #expect(AmarreError(.maxSessionsReached, limit: 8).jsonBody == #"{"error":"max_sessions_reached","limit":8}"#)
    }

    @Test("unknown_instance names the instance")
    func unknownInstanceBody() {
        #expect(AmarreError(.unknownInstance, instanceId: "x").jsonBody == #"{"error":"unknown_instance","instanceId":"x"}"#)
    }

    @Test("not_found is the bare error")
    func notFoundBody() {
        #expect(AmarreError.notFound.jsonBody == #"{"error":"not_found"}"#)
    }

    @Test("bad_request carries its detail")
    func badRequestBody() {
        #expect(AmarreError.badRequest("no").jsonBody == #"{"error":"bad_request","detail":"no"}"#)
    }

    @Test("strings in the body are escaped and the body is valid JSON")
    func bodyIsEscaped() throws {
        let error = AmarreError(.unknownInstance, detail: "line\nbreak \u{01}", instanceId: #"a"b\c"#)
        #expect(error.jsonBody == #"{"error":"unknown_instance","instanceId":"a\"b\\c","detail":"line\nbreak \u0001"}"#)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(error.jsonBody.utf8)) as? [String: String])
        #expect(object["instanceId"] == #"a"b\c"#)
        #expect(object["detail"] == "line\nbreak \u{01}")
    }

    @Test("description shows the code and the detail")
    func description() {
        #expect(AmarreError.notFound.description == "not_found")
        #expect(AmarreError.badRequest("bad cwd").description == "bad_request: bad cwd")
    }

    @Test("round-trips through Codable")
    func codable() throws {
        let error = AmarreError(.maxSessionsReached, detail: "d", limit: 3, instanceId: "i")
        let data = try JSONEncoder().encode(error)
        #expect(try JSONDecoder().decode(AmarreError.self, from: data) == error)
    }
}
