import AmarreCore
import AmarreJSON
import Testing

private func parse(_ text: String) throws(AmarreError) -> CreateSessionRequest {
    try CreateSessionRequest.parse(body: Array(text.utf8))
}

/// The `bad_request` detail `text` is refused with, or nil when it parses.
private func refusal(_ text: String) -> AmarreError? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error
    }
}

@Suite("CreateSessionRequest.parse")
struct CreateSessionRequestTests {
    @Test("an empty or blank body means {}", arguments: ["", " ", "\n", " \t\r\n ", "{}", " {} \n"])
    func emptyBody(text: String) throws {
        #expect(try parse(text) == CreateSessionRequest())
    }

    @Test("every field is read")
    func allFields() throws {
        let r = try parse(#"{"instanceId":"pi","name":"work","cwd":"/tmp","env":{"A":"1","B":""},"other":[1]}"#)
        #expect(r == CreateSessionRequest(instanceId: "pi", name: "work", cwd: "/tmp", env: ["A": "1", "B": ""]))
    }

    @Test("null fields are absent")
    func nullFields() throws {
        #expect(try parse(#"{"instanceId":null,"name":null,"cwd":null,"env":null}"#) == CreateSessionRequest())
    }

    @Test("a body that is not JSON is a bad request", arguments: ["{", "nope", #"{"a":}"#, "{}}"])
    func notJSON(text: String) {
        let error = refusal(text)
        #expect(error?.code == .badRequest)
        #expect(error?.detail == "body is not valid JSON")
    }

    @Test("a body that is not an object is a bad request", arguments: ["[]", "1", #""x""#, "null", "true", "[{}]"])
    func notObject(text: String) {
        let error = refusal(text)
        #expect(error?.code == .badRequest)
        #expect(error?.detail == "body must be a JSON object")
    }

    @Test(
        "a field of the wrong type is a bad request naming the field",
        arguments: [
            (#"{"instanceId":1}"#, "instanceId"), (#"{"name":true}"#, "name"), (#"{"name":false}"#, "name"),
            (#"{"cwd":["/"]}"#, "cwd"), (#"{"cwd":{}}"#, "cwd"), (#"{"env":"A=1"}"#, "env"), (#"{"env":[]}"#, "env"),
            (#"{"env":1}"#, "env"), (#"{"instanceId":0}"#, "instanceId"), (#"{"name":1.5}"#, "name"),
        ])
    func wrongType(text: String, field: String) {
        let error = refusal(text)
        #expect(error?.code == .badRequest)
        #expect(error?.detail?.contains("\"\(field)\"") == true, "\(error?.detail ?? "accepted")")
        #expect(error?.httpStatus == 400)
    }

    @Test(
        "env values must be strings",
        arguments: [#"{"env":{"A":1}}"#, #"{"env":{"A":true}}"#, #"{"env":{"A":null}}"#, #"{"env":{"A":{}}}"#, #"{"env":{"A":["x"]}}"#, #"{"env":{"A":0}}"#])
    func envValues(text: String) {
        let error = refusal(text)
        #expect(error?.code == .badRequest)
        #expect(error?.detail?.contains("env.A") == true, "\(error?.detail ?? "accepted")")
    }

    @Test("env names must be usable", arguments: [#"{"env":{"":"x"}}"#, #"{"env":{"A=B":"x"}}"#, #"{"env":{"A\u0000":"x"}}"#, #"{"env":{"A":"x\u0000y"}}"#])
    func envNames(text: String) {
        #expect(refusal(text)?.code == .badRequest)
    }

    @Test("a relative cwd is a bad request", arguments: ["tmp", "./tmp", "", "~/x"])
    func relativeCwd(cwd: String) {
        let error = refusal(#"{"cwd":"# + JSONText.quote(cwd) + "}")
        #expect(error?.code == .badRequest)
        #expect(error?.detail?.contains("cwd") == true)
    }

    @Test("a cwd with a NUL byte is a bad request (the system would silently cut it there)")
    func cwdWithNUL() {
        let error = refusal(#"{"cwd":"/tmp\u0000/elsewhere"}"#)
        #expect(error?.code == .badRequest)
    }

    @Test("strings are decoded")
    func escapes() throws {
        let r = try parse(#"{"name":"a\"b\u00e9\n","env":{"K\u00e9":"v\\"}}"#)
        #expect(r.name == "a\"bé\n")
        #expect(r.env == ["Ké": "v\\"])
    }
}
