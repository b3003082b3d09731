import AmarreAPI
import AmarreCore
import Foundation
import Glibc
import Logging
import Synchronization
import Testing

/// A FastCGI server on a private socket, run in this process, with an optional fake host.
private final class Harness {
    let directory: TemporaryDirectory
    let configuration: AmarreConfiguration
    let server: FastCGIServer

    init(threads: Int = 2, allowedOrigins: [String] = [], auth: AuthMode = .none, idleTimeout: Duration = .seconds(10)) throws {
        directory = try TemporaryDirectory()
        var configuration = AmarreConfiguration(stateDir: directory.path)
        configuration.auth = auth
        try FileManager.default.createDirectory(atPath: configuration.runDir, withIntermediateDirectories: true)
        configuration.apiThreads = threads
        configuration.allowedOrigins = allowedOrigins
        configuration.allowedHosts = ["amarre.test"]
        self.configuration = configuration
        server = FastCGIServer(
            configuration: configuration, logger: Logger(label: "amarre.api.test", factory: { _ in SwiftLogNoOpLogHandler() }),
            idleTimeout: idleTimeout)
        try server.start()
    }

    deinit { server.stop() }

    func fakeHost(
        closeAfterAnswer: Bool = false, answer: @escaping @Sendable (ControlRequest) -> ControlResponse
    ) throws -> FakeHost {
        try FakeHost(path: configuration.controlSocketPath, closeAfterAnswer: closeAfterAnswer, answer: answer)
    }

    func request(
        _ method: String, _ uri: String, headers: [String: String] = ["Host": "amarre.test:8341"], body: String = ""
    ) throws -> FastCGITestClient.Response {
        try FastCGITestClient.request(
            socket: configuration.apiSocketPath, method: method, uri: uri, headers: headers, body: Array(body.utf8))
    }
}

private func isSocket(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
}

@Suite("FastCGI server, in process, against a fake host")
struct FastCGIServerTests {
    @Test("POST /sessions answers 201 with the summary the host returned")
    func create() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { _ in .session(Fixtures.summary) }
        defer { host.stop() }

        let response = try harness.request("POST", "/sessions", body: #"{"name":"work","cwd":"/tmp/work"}"#)
        #expect(response.status == 201)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(try JSONDecoder().decode(SessionSummary.self, from: Data(response.body)) == Fixtures.summary)
        #expect(host.requests == [.createSession(CreateSessionRequest(name: "work", cwd: "/tmp/work"))])
    }

    @Test("the host's max_sessions_reached becomes 429 with the limit")
    func maxSessions() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { _ in .failure(AmarreError(.maxSessionsReached, limit: 8)) }
        defer { host.stop() }

        let response = try harness.request("POST", "/sessions")
        #expect(response.status == 429)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.text == #"{"error":"max_sessions_reached","limit":8}"#)
    }

    @Test("a connection that sends nothing is closed after the idle timeout and does not pin the only accept thread")
    func idleConnection() throws {
        let harness = try Harness(threads: 1, idleTimeout: .milliseconds(300))
        let idle = try TestSocket.connect(harness.configuration.apiSocketPath)
        defer { close(idle) }
        // Answered once the idle connection has timed out (the host is absent: 503).
        let health = try harness.request("GET", "/healthz")
        #expect(health.status == 503)
        // libfcgi closed the idle connection: reading it ends.
        var byte: UInt8 = 0
        #expect(read(idle, &byte, 1) <= 0)
    }

    @Test("without a host socket the API answers 503")
    func hostAbsent() throws {
        let harness = try Harness()
        #expect(!FileManager.default.fileExists(atPath: harness.configuration.controlSocketPath))

        let sessions = try harness.request("GET", "/sessions")
        #expect(sessions.status == 503)
        #expect(sessions.text == #"{"error":"host_unavailable"}"#)
        let health = try harness.request("GET", "/healthz")
        #expect(health.status == 503)
        #expect(health.text == #"{"ok":false,"host":"down"}"#)
    }

    @Test("a foreign Origin gets 403 and the host is not asked; the page's own origin passes")
    func foreignOrigin() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { _ in .session(Fixtures.summary) }
        defer { host.stop() }

        let foreign = try harness.request(
            "POST", "/sessions", headers: ["Host": "amarre.test:8341", "Origin": "https://evil.example"])
        #expect(foreign.status == 403)
        #expect(foreign.text == #"{"error":"forbidden_origin"}"#)
        #expect(host.requests.isEmpty)

        let own = try harness.request("POST", "/sessions", headers: ["Host": "amarre.test:8341", "Origin": "http://amarre.test:8341"])
        #expect(own.status == 201)
        let forwarded = try harness.request(
            "POST", "/sessions",
            headers: ["Host": "amarre.test", "Origin": "https://amarre.test", "X-Forwarded-Proto": "https"])
        #expect(forwarded.status == 201)
        #expect(host.requests.count == 2)
    }

    @Test("healthz, DELETE, 404, 405 and HEAD over FastCGI")
    func otherAnswers() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { request in
            switch request {
            case .health: .health(HostHealth(sessions: 1, running: 1, version: ControlProtocol.version))
            case .deleteSession: .deleted
            default: .failure(AmarreError(.notFound))
            }
        }
        defer { host.stop() }

        let health = try harness.request("GET", "/healthz")
        #expect(health.status == 200)
        #expect(health.text.contains(#""host":"up""#))

        let deleted = try harness.request("DELETE", "/sessions/\(Fixtures.sessionID)")
        #expect(deleted.status == 204)
        #expect(deleted.body.isEmpty)

        let missing = try harness.request("GET", "/sessions/\(Fixtures.sessionID)?x=1")
        #expect(missing.status == 404)
        #expect(missing.text == #"{"error":"not_found"}"#)

        let wrong = try harness.request("PUT", "/sessions")
        #expect(wrong.status == 405)
        #expect(wrong.headers["Allow"] == "GET, HEAD, POST")

        let head = try harness.request("HEAD", "/healthz")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
    }

    @Test("a body over the limit is 413 payload_too_large and never reaches the host")
    func bodyTooLarge() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { _ in .session(Fixtures.summary) }
        defer { host.stop() }

        let name = String(repeating: "x", count: FastCGIServer.maxBodyBytes)
        let response = try harness.request("POST", "/sessions", body: #"{"name":"\#(name)"}"#)
        #expect(response.status == 413)
        #expect(response.text.hasPrefix(#"{"error":"payload_too_large""#))
        #expect(host.requests.isEmpty)
    }

    @Test("a kept host connection that the host closed is reopened once, transparently")
    func reconnects() throws {
        let harness = try Harness(threads: 1)
        let host = try harness.fakeHost(closeAfterAnswer: true) { _ in .session(Fixtures.summary) }
        defer { host.stop() }

        for _ in 0..<3 {
            #expect(try harness.request("GET", "/sessions/\(Fixtures.summary.id)").status == 200)
        }
        #expect(host.connections == 3)
        #expect(host.requests.count == 3)
    }
}

@Suite("FastCGI server start-up and shutdown")
struct FastCGIServerLifecycleTests {
    private let quiet = Logger(label: "amarre.api.test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("start creates the run directory and a socket with the configured mode; stop removes it")
    func socketLifecycle() throws {
        let directory = try TemporaryDirectory()
        var configuration = AmarreConfiguration(stateDir: directory.path + "/state")
        configuration.socketMode = 0o620
        let server = FastCGIServer(configuration: configuration, logger: quiet)
        try server.start()
        var info = stat()
        #expect(lstat(configuration.apiSocketPath, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o620)
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: configuration.apiSocketPath))
    }

    @Test("a stale socket file is replaced; a live one or a regular file is refused")
    func staleSocket() throws {
        let directory = try TemporaryDirectory()
        let configuration = AmarreConfiguration(stateDir: directory.path)
        try FileManager.default.createDirectory(atPath: configuration.socketDir, withIntermediateDirectories: true)

        // Stale: bound, then closed without unlinking, as after a crash.
        close(try TestSocket.listen(configuration.apiSocketPath))
        let first = FastCGIServer(configuration: configuration, logger: quiet)
        try first.start()
        #expect(isSocket(configuration.apiSocketPath))

        let second = FastCGIServer(configuration: configuration, logger: quiet)
        #expect(throws: StartupError.self) { try second.start() }
        first.stop()

        #expect(FileManager.default.createFile(atPath: configuration.apiSocketPath, contents: Data("keep".utf8)))
        let third = FastCGIServer(configuration: configuration, logger: quiet)
        #expect(throws: StartupError("\(configuration.apiSocketPath) exists and is not a socket; not removing it")) {
            try third.start()
        }
        #expect(FileManager.default.contents(atPath: configuration.apiSocketPath) == Data("keep".utf8))
    }

    @Test("a socket path too long for sun_path is a start-up error, not an exit, and creates nothing")
    func longPath() throws {
        let directory = try TemporaryDirectory()
        let stateDir = directory.path + "/" + String(repeating: "d", count: 100)
        let server = FastCGIServer(configuration: AmarreConfiguration(stateDir: stateDir), logger: quiet)
        let error = #expect(throws: StartupError.self) { try server.start() }
        #expect(error?.message.contains("choose a shorter AMARRE_STATE_DIR") == true)
        #expect(!FileManager.default.fileExists(atPath: stateDir))
    }

    @Test("stop lets a request in flight finish")
    func stopWaitsForRequests() throws {
        let directory = try TemporaryDirectory()
        var open = AmarreConfiguration(stateDir: directory.path)
        open.auth = .none
        let configuration = open
        try FileManager.default.createDirectory(atPath: configuration.runDir, withIntermediateDirectories: true)
        let server = FastCGIServer(configuration: configuration, logger: quiet)
        try server.start()
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let host = try FakeHost(path: configuration.controlSocketPath) { _ in
            entered.signal()
            release.wait()
            return .sessions([])
        }
        defer { host.stop() }

        let status = Mutex<Int?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let answer = try? FastCGITestClient.request(socket: configuration.apiSocketPath, method: "GET", uri: "/sessions")
            status.withLock { $0 = answer?.status }
            done.signal()
        }.start()
        entered.wait()  // the request is inside the server, waiting on the host
        let stopped = DispatchSemaphore(value: 0)
        Thread {
            server.stop()
            stopped.signal()
        }.start()
        release.signal()
        stopped.wait()
        done.wait()
        #expect(status.withLock { $0 } == 200)
        #expect(!FileManager.default.fileExists(atPath: configuration.apiSocketPath))
    }

    @Test("a kept connection (FCGI_KEEP_CONN) serves request after request, and frees its thread when idle")
    func keptConnection() throws {
        let harness = try Harness(threads: 1, idleTimeout: .milliseconds(300))
        let host = try harness.fakeHost { _ in .health(HostHealth(sessions: 0, running: 0, version: "t")) }
        defer { host.stop() }
        let fd = try TestSocket.connect(harness.configuration.apiSocketPath)
        defer { close(fd) }
        for _ in 0..<3 {
            let response = try FastCGITestClient.request(
                on: fd, method: "GET", uri: "/healthz", headers: ["Host": "amarre.test:8341", "X-Request-Id": "r-1"], keep: true)
            #expect(response.status == 200)
            #expect(response.headers["X-Request-Id"] == "r-1")
        }
        // The idle kept connection holds no thread: a new connection is served at once.
        let later = try harness.request("GET", "/healthz")
        #expect(later.status == 200)
    }

    @Test("kept connections beyond the thread count pin no thread: each is served again, and so is a new one")
    func keptConnectionsOutnumberThreads() throws {
        // Far longer than the test: nothing here may wait for an idle connection to be closed.
        let harness = try Harness(threads: 2, idleTimeout: .seconds(60))
        let host = try harness.fakeHost { _ in .health(HostHealth(sessions: 0, running: 0, version: "t")) }
        defer { host.stop() }
        let kept = try (0..<6).map { _ in try TestSocket.connect(harness.configuration.apiSocketPath) }
        defer { for fd in kept { close(fd) } }
        for round in 0..<2 {
            for fd in kept {
                let response = try FastCGITestClient.request(
                    on: fd, method: "GET", uri: "/healthz", headers: ["Host": "amarre.test:8341", "X-Request-Id": "k-\(round)"],
                    keep: true)
                #expect(response.status == 200)
                #expect(response.headers["X-Request-Id"] == "k-\(round)")
            }
            #expect(try harness.request("GET", "/healthz").status == 200)
        }
    }

    @Test("POST /sessions/<id>/prompt takes a body past 1 MiB (images), other routes do not")
    func promptBodyLimit() throws {
        let harness = try Harness()
        let host = try harness.fakeHost { _ in .accepted(afterSeq: 9) }
        defer { host.stop() }
        let image = String(repeating: "A", count: 2 << 20)
        let body = #"{"message":"see","images":[{"type":"image","data":"\#(image)","mimeType":"image/png"}]}"#
        let response = try harness.request("POST", "/sessions/\(Fixtures.sessionID)/prompt", body: body)
        #expect(response.status == 202)
        let answer = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(answer?["sessionId"] as? String == Fixtures.sessionID.rawValue)
        #expect(answer?["afterSeq"] as? Int == 9)
        let other = try harness.request("POST", "/sessions", body: body)
        #expect(other.status == 413)
    }

    @Test("stop does not wait for an idle kept connection's timeout")
    func stopCutsIdleKeptConnections() throws {
        var harness: Harness? = try Harness(threads: 1, idleTimeout: .seconds(30))
        let host = try harness!.fakeHost { _ in .health(HostHealth(sessions: 0, running: 0, version: "t")) }
        defer { host.stop() }
        let fd = try TestSocket.connect(harness!.configuration.apiSocketPath)
        defer { close(fd) }
        let response = try FastCGITestClient.request(
            on: fd, method: "GET", uri: "/healthz", headers: ["Host": "amarre.test:8341"], keep: true)
        #expect(response.status == 200)
        let started = ContinuousClock.now
        harness!.server.stop()
        harness = nil
        // Far below the 30 s idle timeout the only thread was waiting on.
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
