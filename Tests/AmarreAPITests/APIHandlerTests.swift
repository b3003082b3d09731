import AmarreAPI
import AmarreCore
import Foundation
import Logging
import Testing

private let quiet = Logger(label: "amarre.api.test", factory: { _ in SwiftLogNoOpLogHandler() })
private let handler = APIHandler(originPolicy: OriginPolicy(allowedOrigins: [], allowedHosts: ["amarre.example"]), logger: quiet)
private let sessionPath = "/sessions/\(Fixtures.sessionID)"

private func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }
private func header(_ response: HTTPResponse, _ name: String) -> String? {
    response.headers.first { $0.name == name }?.value
}

@Suite("Answers and the error -> HTTP mapping")
struct APIHandlerTests {
    @Test(
        "host errors become their protocol status and body",
        arguments: [
            (AmarreError(.maxSessionsReached, limit: 8), 429, #"{"error":"max_sessions_reached","limit":8}"#),
            (AmarreError(.unknownInstance, instanceId: "nope"), 404, #"{"error":"unknown_instance","instanceId":"nope"}"#),
            (AmarreError(.notFound), 404, #"{"error":"not_found"}"#),
            (AmarreError(.alreadyRunning), 409, #"{"error":"already_running"}"#),
            (AmarreError(.hostUnavailable), 503, #"{"error":"host_unavailable"}"#),
            (AmarreError(.spawnFailed, detail: "no such file"), 500, #"{"error":"spawn_failed","detail":"no such file"}"#),
        ])
    func hostErrors(error: AmarreError, status: Int, body: String) {
        let host = FakeChannel(always: .failure(error))
        let response = handler.respond(to: HTTPRequest(method: .post, path: "/sessions"), host: host)
        #expect(response.status == status)
        #expect(text(response) == body)
        #expect(header(response, "Content-Type") == "application/json")
    }

    @Test("an unreachable host is 503 host_unavailable")
    func unreachableHost() {
        for (method, path) in [(HTTPMethod.get, "/sessions"), (.post, "/sessions"), (.get, "/instances"), (.delete, sessionPath)] {
            let response = handler.respond(to: HTTPRequest(method: method, path: path), host: FakeChannel.unreachable())
            #expect(response.status == 503)
            #expect(text(response) == #"{"error":"host_unavailable"}"#)
        }
    }

    @Test("POST /sessions passes the parsed body to the host and answers 201 with the summary")
    func create() throws {
        let host = FakeChannel(always: .session(Fixtures.summary))
        let request = HTTPRequest(method: .post, path: "/sessions", body: Array(#"{"name":"work","cwd":"/tmp/work"}"#.utf8))
        let response = handler.respond(to: request, host: host)
        #expect(response.status == 201)
        #expect(host.requests == [.createSession(CreateSessionRequest(name: "work", cwd: "/tmp/work"))])
        #expect(try JSONDecoder().decode(SessionSummary.self, from: Data(response.body)) == Fixtures.summary)
        #expect(text(response).contains(#""cwd":"/tmp/work""#))
        #expect(!text(response).contains("exitCode"))
        #expect(!text(response).contains("null"))
    }

    @Test("an empty POST /sessions body means {}")
    func createEmpty() {
        let host = FakeChannel(always: .session(Fixtures.summary))
        let response = handler.respond(to: HTTPRequest(method: .post, path: "/sessions"), host: host)
        #expect(response.status == 201)
        #expect(host.requests == [.createSession(CreateSessionRequest())])
    }

    @Test("a bad POST /sessions body is 400 bad_request and never reaches the host", arguments: ["[1]", "{", #"{"name":3}"#])
    func createBadBody(body: String) {
        let host = FakeChannel(always: .session(Fixtures.summary))
        let response = handler.respond(to: HTTPRequest(method: .post, path: "/sessions", body: Array(body.utf8)), host: host)
        #expect(response.status == 400)
        #expect(text(response).hasPrefix(#"{"error":"bad_request","detail":"#))
        #expect(host.requests.isEmpty)
    }

    @Test("lists, lookups, delete and restart answer as the protocol says")
    func otherRoutes() throws {
        let instances = [InstanceInfo(id: "demo", agent: "demo"), InstanceInfo(id: "pi", agent: "pi")]
        var response = handler.respond(to: HTTPRequest(method: .get, path: "/instances"), host: FakeChannel(always: .instances(instances)))
        #expect(response.status == 200)
        #expect(try JSONDecoder().decode([InstanceInfo].self, from: Data(response.body)) == instances)

        response = handler.respond(to: HTTPRequest(method: .get, path: "/sessions"), host: FakeChannel(always: .sessions([Fixtures.summary])))
        #expect(response.status == 200)
        #expect(try JSONDecoder().decode([SessionSummary].self, from: Data(response.body)) == [Fixtures.summary])

        let getter = FakeChannel(always: .session(Fixtures.summary))
        response = handler.respond(to: HTTPRequest(method: .get, path: sessionPath), host: getter)
        #expect(response.status == 200)
        #expect(getter.requests == [.getSession(Fixtures.sessionID)])

        let deleter = FakeChannel(always: .deleted)
        response = handler.respond(to: HTTPRequest(method: .delete, path: sessionPath), host: deleter)
        #expect(response.status == 204)
        #expect(response.body.isEmpty)
        #expect(header(response, "Content-Type") == nil)
        #expect(deleter.requests == [.deleteSession(Fixtures.sessionID)])

        let restarter = FakeChannel(always: .session(Fixtures.summary))
        response = handler.respond(to: HTTPRequest(method: .post, path: sessionPath + "/restart"), host: restarter)
        #expect(response.status == 200)
        #expect(restarter.requests == [.restartSession(Fixtures.sessionID)])
    }

    @Test("unknown paths and bad ids are 404 without asking the host")
    func notFound() {
        for path in ["/nope", "/sessions/XYZ", "/sessions/0123456789AB/restart"] {
            let host = FakeChannel(always: .deleted)
            let response = handler.respond(to: HTTPRequest(method: .delete, path: path), host: host)
            #expect(response.status == 404)
            #expect(text(response) == #"{"error":"not_found"}"#)
            #expect(host.requests.isEmpty)
        }
    }

    @Test("a wrong method is 405 with an Allow header")
    func methodNotAllowed() {
        let host = FakeChannel(always: .deleted)
        let response = handler.respond(to: HTTPRequest(method: .post, path: sessionPath), host: host)
        #expect(response.status == 405)
        #expect(text(response) == #"{"error":"method_not_allowed"}"#)
        #expect(header(response, "Allow") == "GET, HEAD, DELETE, PATCH")
        #expect(host.requests.isEmpty)
    }

    @Test("the host answering with the wrong kind of response is a 500")
    func unexpectedAnswer() {
        let response = handler.respond(to: HTTPRequest(method: .get, path: "/sessions"), host: FakeChannel(always: .deleted))
        #expect(response.status == 500)
        #expect(text(response) == #"{"error":"internal_error"}"#)
    }

    @Test("healthz says whether the host answers")
    func health() throws {
        let up = handler.respond(
            to: HTTPRequest(method: .get, path: "/healthz"),
            host: FakeChannel(always: .health(HostHealth(sessions: 3, running: 2, version: "2.4.0"))))
        #expect(up.status == 200)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(up.body)) as? [String: Any])
        #expect(body["ok"] as? Bool == true)
        #expect(body["host"] as? String == "up")
        #expect(body["version"] as? String == "2.4.0")
        #expect(body["sessions"] as? Int == 3)
        #expect(body["running"] as? Int == 2)

        let down = handler.respond(to: HTTPRequest(method: .get, path: "/healthz"), host: FakeChannel.unreachable())
        #expect(down.status == 503)
        #expect(text(down) == #"{"ok":false,"host":"down"}"#)
        #expect(header(down, "Content-Type") == "application/json")
    }

    @Test("a failure is written as a CGI response with Status, headers and body")
    func cgiBytes() {
        let response = HTTPResponse(failure: .methodNotAllowed(allowed: [.post]))
        let expected = "Status: 405 Method Not Allowed\r\nContent-Type: application/json\r\nAllow: POST\r\n\r\n{\"error\":\"method_not_allowed\"}"
        #expect(String(decoding: response.cgiBytes(), as: UTF8.self) == expected)
        #expect(String(decoding: HTTPResponse.noContent.cgiBytes(), as: UTF8.self) == "Status: 204 No Content\r\n\r\n")
        let head = response.cgiBytes(includeBody: false)
        #expect(String(decoding: head, as: UTF8.self).hasSuffix("Allow: POST\r\n\r\n"))
    }
}

@Suite("Origin check as the API applies it")
struct OriginTests {
    private func post(origin: String?, host: String? = "amarre.example:8341", scheme: String = "http", policy: [String] = []) -> Int {
        let handler = APIHandler(originPolicy: OriginPolicy(allowedOrigins: policy, allowedHosts: ["amarre.example"]), logger: quiet)
        let request = HTTPRequest(method: .post, path: "/sessions", host: host, origin: origin, scheme: scheme)
        return handler.respond(to: request, host: FakeChannel(always: .session(Fixtures.summary))).status
    }

    @Test("a foreign origin cannot change state, and the host is never asked")
    func foreign() {
        let host = FakeChannel(always: .deleted)
        let request = HTTPRequest(method: .delete, path: sessionPath, host: "amarre.example", origin: "https://evil.example")
        let response = handler.respond(to: request, host: host)
        #expect(response.status == 403)
        #expect(text(response) == #"{"error":"forbidden_origin"}"#)
        #expect(host.requests.isEmpty)
        #expect(post(origin: "http://evil.example:8341") == 403)
        #expect(post(origin: "null") == 403)
        #expect(post(origin: "http://amarre.example:8341", host: nil) == 403)
    }

    @Test("same origin, a listed origin, or no Origin may change state")
    func allowed() {
        #expect(post(origin: nil) == 201)
        #expect(post(origin: "http://amarre.example:8341") == 201)
        #expect(post(origin: "HTTP://Amarre.Example:8341/") == 201)
        #expect(post(origin: "https://app.example", policy: ["https://app.example"]) == 201)
        #expect(post(origin: "https://amarre.example", host: "amarre.example", scheme: "https") == 201)
        #expect(post(origin: "https://amarre.example", host: "amarre.example:443", scheme: "https") == 201)
    }

    @Test("reads are not origin-checked")
    func getIsSafe() {
        let request = HTTPRequest(method: .get, path: "/sessions", host: "amarre.example", origin: "https://evil.example")
        #expect(handler.respond(to: request, host: FakeChannel(always: .sessions([]))).status == 200)
    }

    @Test(
        "the scheme is X-Forwarded-Proto, else REQUEST_SCHEME, else HTTPS=on, else http",
        arguments: [
            (["HTTP_X_FORWARDED_PROTO": "https", "REQUEST_SCHEME": "http"], "https"),
            (["HTTP_X_FORWARDED_PROTO": "HTTPS, http"], "https"),
            (["HTTP_X_FORWARDED_PROTO": "", "REQUEST_SCHEME": "http", "HTTPS": "on"], "http"),
            (["REQUEST_SCHEME": "https"], "https"),
            (["HTTPS": "on"], "https"),
            (["HTTPS": "off"], "http"),
            ([:], "http"),
        ])
    func scheme(parameters: [String: String], expected: String) {
        #expect(HTTPRequest(parameters: { parameters[$0] }).scheme == expected)
    }

    @Test("behind a TLS terminator the forwarded scheme makes the browser's https origin our own")
    func forwardedScheme() {
        let parameters = [
            "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/sessions", "HTTP_HOST": "box.tail.ts.net",
            "HTTP_ORIGIN": "https://box.tail.ts.net", "HTTP_X_FORWARDED_PROTO": "https", "REQUEST_SCHEME": "http",
        ]
        let request = HTTPRequest(parameters: { parameters[$0] })
        #expect(request.scheme == "https")
        #expect(handler.respond(to: request, host: FakeChannel(always: .session(Fixtures.summary))).status == 201)
    }

    @Test("FastCGI parameters map onto the request")
    func parameters() {
        let parameters = [
            "REQUEST_METHOD": "DELETE", "REQUEST_URI": "/sessions/x?y=1", "QUERY_STRING": "y=1",
            "HTTP_HOST": "h:1", "HTTP_ORIGIN": "",
        ]
        let request = HTTPRequest(parameters: { parameters[$0] })
        #expect(request.method == .delete)
        #expect(request.path == "/sessions/x")
        #expect(request.query == "y=1")
        #expect(request.host == "h:1")
        #expect(request.origin == nil)
        let withDocumentURI = ["DOCUMENT_URI": "/healthz", "REQUEST_URI": "/other"]
        #expect(HTTPRequest(parameters: { withDocumentURI[$0] }).path == "/healthz")
    }

    @Test("prompt, abort and requests: typed control requests, 202 with afterSeq, the open requests as published")
    func scriptsRoutes() throws {
        let prompt = FakeChannel(always: .accepted(afterSeq: 12))
        let body = #"{"message":"hi","mode":"follow_up"}"#
        let response = handler.respond(to: HTTPRequest(method: .post, path: sessionPath + "/prompt", body: Array(body.utf8)), host: prompt)
        #expect(response.status == 202)
        let answer = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(answer?["sessionId"] as? String == Fixtures.sessionID.rawValue)
        #expect(answer?["afterSeq"] as? Int == 12)
        guard case .sendPrompt(let session, let sent)? = prompt.requests.first else {
            Issue.record("no prompt reached the host: \(prompt.requests)")
            return
        }
        #expect(session == Fixtures.sessionID)
        #expect((sent.message, sent.mode, sent.images) == ("hi", .followUp, []))
        // Every REST prompt gets an id the agent's response will carry; the 202 says which.
        let id = try #require(sent.id)
        #expect(id.hasPrefix("amarre-rest-"))
        #expect(answer?["id"] as? String == id)
        let bad = handler.respond(to: HTTPRequest(method: .post, path: sessionPath + "/prompt", body: Array("{}".utf8)), host: prompt)
        #expect(bad.status == 400)

        let abort = FakeChannel(always: .accepted(afterSeq: 3))
        #expect(handler.respond(to: HTTPRequest(method: .post, path: sessionPath + "/abort"), host: abort).status == 202)
        #expect(abort.requests == [.abortRun(session: Fixtures.sessionID)])
        let stopped = FakeChannel(always: .failure(AmarreError(.notRunning)))
        #expect(handler.respond(to: HTTPRequest(method: .post, path: sessionPath + "/abort"), host: stopped).status == 409)

        let open = FakeChannel(always: .requests(records: [#"{"type":"extension_ui_request","id":"a","_seq":4}"#]))
        let listed = handler.respond(to: HTTPRequest(method: .get, path: sessionPath + "/requests"), host: open)
        #expect(listed.status == 200)
        #expect(text(listed) == #"{"requests":[{"type":"extension_ui_request","id":"a","_seq":4}]}"#)
        #expect(handler.respond(to: HTTPRequest(method: .get, path: sessionPath + "/prompt"), host: open).status == 405)
    }

    @Test("a state-changing request reaches the host with its request id; reads do not")
    func traced() {
        var request = HTTPRequest(method: .post, path: sessionPath + "/abort")
        request.requestID = "abc123"
        let host = FakeChannel(always: .accepted(afterSeq: 1))
        _ = handler.respond(to: request, host: host, logger: quiet)
        #expect(host.requests == [.traced(requestId: "abc123", request: .abortRun(session: Fixtures.sessionID))])
        var read = HTTPRequest(method: .get, path: sessionPath)
        read.requestID = "abc124"
        let reader = FakeChannel(always: .session(Fixtures.summary))
        _ = handler.respond(to: read, host: reader, logger: quiet)
        #expect(reader.requests == [.getSession(Fixtures.sessionID)])
    }
}
