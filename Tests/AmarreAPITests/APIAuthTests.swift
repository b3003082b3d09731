import AmarreAPI
import AmarreAuth
import AmarreCore
import Foundation
import Logging
import Testing

private let quiet = Logger(label: "amarre.api.test", factory: { _ in SwiftLogNoOpLogHandler() })

private func header(_ response: HTTPResponse, _ name: String) -> String? {
    response.headers.first { $0.name == name }?.value
}

/// An API handler in token mode over a real `devices.json` in a temporary directory.
private final class AuthHarness {
    let directory: URL
    let path: String
    let handler: APIHandler
    var table = CredentialTable()
    let browser: DeviceToken
    let script: DeviceToken

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-api-auth-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.path + "/devices.json"
        browser = table.issue(name: "phone", kind: .browser, now: 1)
        script = table.issue(name: "ci", kind: .token, now: 2)
        try CredentialFile.save(table, to: path)
        handler = APIHandler(
            originPolicy: OriginPolicy(allowedOrigins: [], allowedHosts: []), logger: quiet,
            authenticator: Authenticator(mode: .token, path: path, logger: quiet))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func revoke(_ token: DeviceToken) throws {
        table.credentials[token.id] = nil
        try CredentialFile.save(table, to: path)
    }
}

@Suite("REST access control")
struct APIAuthTests {
    static let protectedRoutes: [(HTTPMethod, String)] = [
        (.get, "/instances"), (.get, "/sessions"), (.post, "/sessions"), (.get, "/sessions/0123456789ab"),
        (.delete, "/sessions/0123456789ab"), (.post, "/sessions/0123456789ab/restart"),
        (.get, "/sessions/0123456789ab/events"), (.post, "/auth/logout"), (.get, "/auth/device"),
        (.post, "/sessions/0123456789ab/prompt"), (.post, "/sessions/0123456789ab/abort"),
        (.get, "/sessions/0123456789ab/requests"), (.get, "/metrics"),
        // Unknown paths and methods too: nothing is learnt without credentials.
        (.get, "/nope"), (HTTPMethod(rawValue: "PUT"), "/sessions"),
    ]

    @Test("without credentials every route but /healthz and /auth/pair is 401 with WWW-Authenticate, and the host is not asked")
    func refused() throws {
        let h = try AuthHarness()
        for (method, path) in Self.protectedRoutes {
            let host = FakeChannel(always: .sessions([]))
            let response = h.handler.respond(to: HTTPRequest(method: method, path: path), host: host)
            #expect(response.status == 401, "\(method) \(path)")
            #expect(String(decoding: response.body, as: UTF8.self) == #"{"error":"unauthorized"}"#)
            #expect(header(response, "WWW-Authenticate") == "Bearer")
            #expect(host.requests.isEmpty)
        }
    }

    @Test("a bearer token and a paired browser's cookie are accepted")
    func accepted() throws {
        let h = try AuthHarness()
        let host = FakeChannel(always: .sessions([]))
        let bearer = h.handler.respond(
            to: HTTPRequest(method: .get, path: "/sessions", authorization: "Bearer \(h.script.text)"), host: host)
        #expect(bearer.status == 200)
        #expect(header(bearer, "Set-Cookie") == nil)
        let cookie = h.handler.respond(
            to: HTTPRequest(method: .get, path: "/sessions", cookie: "amarre_auth=\(h.browser.text)"), host: host)
        #expect(cookie.status == 200)
        // The first use in a minute refreshes the cookie and reports the device to the host.
        #expect(header(cookie, "Set-Cookie")?.hasPrefix("amarre_auth=\(h.browser.text); Path=/; Max-Age=") == true)
        #expect(host.requests.contains(.touchDevice(id: h.browser.id)))
        #expect(host.requests.contains(.touchDevice(id: h.script.id)))
        let again = h.handler.respond(
            to: HTTPRequest(method: .get, path: "/sessions", cookie: "amarre_auth=\(h.browser.text)"), host: host)
        #expect(header(again, "Set-Cookie") == nil)
    }

    @Test("a revoked credential is refused from the next request on")
    func revocation() throws {
        let h = try AuthHarness()
        let host = FakeChannel(always: .sessions([]))
        let request = HTTPRequest(method: .get, path: "/sessions", authorization: "Bearer \(h.script.text)")
        #expect(h.handler.respond(to: request, host: host).status == 200)
        try h.revoke(h.script)
        #expect(h.handler.respond(to: request, host: host).status == 401)
    }

    @Test("/healthz without credentials tells only whether the host is up")
    func health() throws {
        let h = try AuthHarness()
        let host = FakeChannel(always: .health(HostHealth(sessions: 3, running: 2, version: "2.4.0")))
        let open = h.handler.respond(to: HTTPRequest(method: .get, path: "/healthz"), host: host)
        #expect(open.status == 200)
        #expect(String(decoding: open.body, as: UTF8.self) == #"{"ok":true,"host":"up"}"#)
        let full = h.handler.respond(
            to: HTTPRequest(method: .get, path: "/healthz", authorization: "Bearer \(h.script.text)"), host: host)
        #expect(String(decoding: full.body, as: UTF8.self).contains(#""sessions":3"#))
    }

    @Test("POST /auth/pair passes the code and the client's address to the host and sets the cookie")
    func pair() throws {
        let h = try AuthHarness()
        let token = DeviceToken.generate()
        let host = FakeChannel(always: .deviceToken(id: token.id, name: "Pixel", token: token.text))
        let request = HTTPRequest(
            method: .post, path: "/auth/pair", scheme: "https", body: Array(#"{"code":"abc","name":"Pixel"}"#.utf8),
            clientAddress: "100.64.0.7")
        let response = h.handler.respond(to: request, host: host)
        #expect(response.status == 200)
        #expect(host.requests == [.pairRedeem(code: "abc", name: "Pixel", address: "100.64.0.7")])
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"id":"\#(token.id)","kind":"browser","name":"Pixel"}"#
            || String(decoding: response.body, as: UTF8.self).contains(#""id":"\#(token.id)""#))
        #expect(!String(decoding: response.body, as: UTF8.self).contains(token.secret))
        let cookie = try #require(header(response, "Set-Cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.hasSuffix("; Secure"))
    }

    @Test("POST /auth/pair: the host's verdicts become 401 invalid_code and 429 with Retry-After; a bad body is 400")
    func pairFailures() throws {
        let h = try AuthHarness()
        let body = Array(#"{"code":"abc"}"#.utf8)
        let wrong = h.handler.respond(
            to: HTTPRequest(method: .post, path: "/auth/pair", body: body), host: FakeChannel(always: .failure(AmarreError(.invalidCode))))
        #expect(wrong.status == 401)
        #expect(String(decoding: wrong.body, as: UTF8.self) == #"{"error":"invalid_code"}"#)
        let limited = h.handler.respond(
            to: HTTPRequest(method: .post, path: "/auth/pair", body: body),
            host: FakeChannel(always: .failure(AmarreError(.tooManyAttempts, retryAfter: 42))))
        #expect(limited.status == 429)
        #expect(header(limited, "Retry-After") == "42")
        for bad in ["", "[]", #"{"code":5}"#, #"{"name":"x"}"#, #"{"code":"a","name":3}"#] {
            let response = h.handler.respond(
                to: HTTPRequest(method: .post, path: "/auth/pair", body: Array(bad.utf8)), host: FakeChannel(always: .revoked))
            #expect(response.status == 400, "\(bad)")
        }
    }

    @Test("POST /auth/logout revokes the calling device and clears its cookie; GET /auth/device describes it")
    func logout() throws {
        let h = try AuthHarness()
        let host = FakeChannel { request throws(AmarreError) in request == .revokeDevice(id: h.browser.id) ? .revoked : .touched }
        let device = h.handler.respond(
            to: HTTPRequest(method: .get, path: "/auth/device", cookie: "amarre_auth=\(h.browser.text)"), host: host)
        #expect(device.status == 200)
        #expect(String(decoding: device.body, as: UTF8.self).contains(#""auth":"token""#))
        #expect(String(decoding: device.body, as: UTF8.self).contains(#""name":"phone""#))
        let response = h.handler.respond(
            to: HTTPRequest(method: .post, path: "/auth/logout", cookie: "amarre_auth=\(h.browser.text)"), host: host)
        #expect(response.status == 204)
        #expect(host.requests.contains(.revokeDevice(id: h.browser.id)))
        #expect(header(response, "Set-Cookie")?.contains("Max-Age=0") == true)
    }

    @Test("in none mode nothing asks for credentials and /auth/device says so")
    func noneMode() {
        let handler = APIHandler(
            originPolicy: OriginPolicy(allowedOrigins: [], allowedHosts: []), logger: quiet,
            authenticator: Authenticator(mode: .none, path: "/nonexistent/devices.json", logger: quiet))
        let list = handler.respond(to: HTTPRequest(method: .get, path: "/sessions"), host: FakeChannel(always: .sessions([])))
        #expect(list.status == 200)
        let device = handler.respond(to: HTTPRequest(method: .get, path: "/auth/device"), host: FakeChannel(always: .revoked))
        #expect(String(decoding: device.body, as: UTF8.self) == #"{"auth":"none"}"#)
    }

    @Test("the client address is the peer, or the last X-Forwarded-For entry when the peer is a local proxy")
    func clientAddress() {
        #expect(HTTPRequest.clientAddress(remote: "100.64.0.9", forwardedFor: "1.2.3.4") == "100.64.0.9")
        #expect(HTTPRequest.clientAddress(remote: "127.0.0.1", forwardedFor: "9.9.9.9, 100.64.0.9") == "100.64.0.9")
        #expect(HTTPRequest.clientAddress(remote: "127.0.0.1", forwardedFor: nil) == "127.0.0.1")
    }

    @Test("AMARRE_METRICS_TOKEN reads /metrics and nothing else; paired devices read it too")
    func metricsToken() throws {
        let harness = try AuthHarness()
        var handler = harness.handler
        handler.metricsToken = "scrape-secret"
        handler.metrics = { Array("amarre_api_up 1\n".utf8) }
        let host = FakeChannel(always: .metricsText("amarre_sessions{status=\"running\"} 0\n"))
        let scraper = HTTPRequest(method: .get, path: "/metrics", authorization: "Bearer scrape-secret")
        let scraped = handler.respond(to: scraper, host: host)
        #expect(scraped.status == 200)
        #expect(String(decoding: scraped.body, as: UTF8.self) == "amarre_sessions{status=\"running\"} 0\namarre_api_up 1\n")
        #expect(header(scraped, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(handler.respond(to: HTTPRequest(method: .get, path: "/sessions", authorization: "Bearer scrape-secret"), host: host).status == 401)
        #expect(handler.respond(to: HTTPRequest(method: .get, path: "/metrics", authorization: "Bearer wrong"), host: host).status == 401)
        let device = HTTPRequest(method: .get, path: "/metrics", authorization: "Bearer " + harness.script.text)
        #expect(handler.respond(to: device, host: host).status == 200)
    }
}
