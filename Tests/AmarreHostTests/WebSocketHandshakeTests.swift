import AmarreAuth
import AmarreCore
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import AmarreHost

// The WebSocket endpoint's handshake, as the bytes it writes. The pipeline is built inside
// `WebSocketServer.bind`'s child channel initializer and its refusal handler is private to
// WebSocketServer.swift, so neither can be put on an `EmbeddedChannel`: the tests bind the real
// server on a Unix socket in the scratch directory and speak raw HTTP/1.1 and RFC 6455 frames
// to it, in-process (no nginx, no amarre-api).

/// Binds the real WebSocket server of `h`'s host in its scratch directory.
private func bindWebSocket(_ h: HostHarness) async throws -> String {
    let path = h.dir + "/ws.sock"
    let host = h.host
    let group = h.group
    _ = try await h.loop.flatSubmit { WebSocketServer.bind(host: host.value, path: path, group: group) }.get()
    return path
}

/// RFC 6455 §1.3's example key and its accept value.
private let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
private let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

private let upgradeHeaders = [
    "Host: localhost", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: \(sampleKey)",
    "Sec-WebSocket-Version: 13",
]

private func httpRequest(_ target: String, _ headers: [String] = upgradeHeaders, version: String = "HTTP/1.1") -> String {
    "GET \(target) \(version)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
}

/// An HTTP response as written: status line, header fields in order, the body its
/// Content-Length covers, and whatever bytes follow it.
private struct RawResponse {
    var statusLine: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var rest: [UInt8]

    /// Nil until the head and its body are all there.
    init?(_ bytes: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        statusLine = head[0]
        headers = head.dropFirst().map { line in
            let colon = line.firstIndex(of: ":") ?? line.endIndex
            return (
                String(line[..<colon]),
                String(line[colon...].dropFirst()).trimmingCharacters(in: .whitespaces)
            )
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        let bodyStart = end + 4
        guard bytes.count >= bodyStart + length else { return nil }
        body = Array(bytes[bodyStart..<(bodyStart + length)])
        rest = Array(bytes[(bodyStart + length)...])
    }

    func header(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A frame as the server writes it.
private struct ServerFrame: Equatable {
    var fin: Bool
    var opcode: UInt8
    var masked: Bool
    var payload: [UInt8]

    var text: String { String(decoding: payload, as: UTF8.self) }
    var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    /// The whole frames at the start of `bytes` (a partial one at the end is left out).
    static func parse(_ bytes: [UInt8]) -> [ServerFrame] {
        var frames: [ServerFrame] = []
        var i = 0
        while bytes.count - i >= 2 {
            let fin = bytes[i] & 0x80 != 0
            let opcode = bytes[i] & 0x0F
            let masked = bytes[i + 1] & 0x80 != 0
            var length = Int(bytes[i + 1] & 0x7F)
            var at = i + 2
            if length == 126 {
                guard bytes.count - at >= 2 else { break }
                length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
                at += 2
            } else if length == 127 {
                guard bytes.count - at >= 8 else { break }
                length = bytes[at..<(at + 8)].reduce(0) { $0 << 8 | Int($1) }
                at += 8
            }
            if masked { at += 4 }
            guard bytes.count - at >= length else { break }
            frames.append(ServerFrame(fin: fin, opcode: opcode, masked: masked, payload: Array(bytes[at..<(at + length)])))
            i = at + length
        }
        return frames
    }
}

/// A masked frame as a browser writes it (payloads under 126 bytes), or unmasked if told.
private func clientFrameBytes(opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) -> [UInt8] {
    precondition(payload.count < 126)
    let key: [UInt8] = [0xA1, 0x0B, 0x5C, 0xE7]
    var out: [UInt8] = [(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | UInt8(payload.count)]
    if masked {
        out += key
        out += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    } else {
        out += payload
    }
    return out
}

/// Sends one request and returns the response, once the server has closed the connection.
private func refusal(_ path: String, _ h: HostHarness, _ bytes: String) async throws -> RawResponse? {
    let client = try await RawSocketClient.connect(path, group: h.group)
    try await client.send(bytes)
    let received = try await client.untilClosed()
    let response = RawResponse(received)
    #expect(response != nil, "a whole response: \(String(decoding: received, as: UTF8.self))")
    return response
}

/// The refusal is `status` with `body`, the headers the handler writes, nothing after it, and
/// the connection closed (`refusal` waited for that).
private func expectRefusal(
    _ response: RawResponse?, _ statusLine: String, _ body: String, unauthorized: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let response else { return }
    #expect(response.statusLine == statusLine, sourceLocation: sourceLocation)
    #expect(response.bodyText == body, sourceLocation: sourceLocation)
    #expect(response.header("Content-Type") == ["application/json"], sourceLocation: sourceLocation)
    #expect(response.header("Content-Length") == ["\(response.body.count)"], sourceLocation: sourceLocation)
    #expect(response.header("Connection") == ["close"], sourceLocation: sourceLocation)
    #expect(response.header("WWW-Authenticate") == (unauthorized ? ["Bearer"] : []), sourceLocation: sourceLocation)
    #expect(response.header("Upgrade").isEmpty, sourceLocation: sourceLocation)
    #expect(response.header("Sec-WebSocket-Accept").isEmpty, sourceLocation: sourceLocation)
    #expect(response.rest.isEmpty, "nothing after the response", sourceLocation: sourceLocation)
}

private func instances(_ dir: String) -> [InstanceConfig] {
    [InstanceConfig(id: "cat", agent: .command, command: ["cat"]), shell("crash3", "exit 3")]
}

private func open(_ configuration: inout AmarreConfiguration) { configuration.auth = .none }

/// A refused request with no session involved, and what it is answered.
struct RefusalCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: String
    var statusLine: String
    var body: String
    var testDescription: String { name }

    static let unknownID = SessionID.random().rawValue

    static let all: [RefusalCase] = [
        RefusalCase(
            name: "the root", bytes: httpRequest("/"), statusLine: "HTTP/1.1 426 Upgrade Required",
            body: #"{"error":"upgrade_required","detail":"Use /sessions/<id>"}"#),
        RefusalCase(
            name: "the root with a query", bytes: httpRequest("/?since=3"), statusLine: "HTTP/1.1 426 Upgrade Required",
            body: #"{"error":"upgrade_required","detail":"Use /sessions/<id>"}"#),
        RefusalCase(
            name: "an unknown path", bytes: httpRequest("/nope"), statusLine: "HTTP/1.1 404 Not Found",
            body: #"{"error":"not_found"}"#),
        RefusalCase(
            name: "a malformed session id", bytes: httpRequest("/sessions/not%20an%20id"),
            statusLine: "HTTP/1.1 404 Not Found", body: #"{"error":"not_found"}"#),
        RefusalCase(
            name: "a path below a session", bytes: httpRequest("/sessions/\(unknownID)/x"),
            statusLine: "HTTP/1.1 404 Not Found", body: #"{"error":"not_found"}"#),
        RefusalCase(
            name: "no upgrade", bytes: httpRequest("/sessions/\(unknownID)", ["Host: localhost"]),
            statusLine: "HTTP/1.1 426 Upgrade Required",
            body: #"{"error":"upgrade_required","detail":"WebSocket upgrade required"}"#),
        RefusalCase(
            name: "an upgrade to another protocol",
            bytes: httpRequest("/sessions/\(unknownID)", ["Host: localhost", "Upgrade: h2c", "Connection: Upgrade"]),
            statusLine: "HTTP/1.1 426 Upgrade Required",
            body: #"{"error":"upgrade_required","detail":"WebSocket upgrade required"}"#),
        RefusalCase(
            name: "a foreign Origin", bytes: httpRequest("/sessions/\(unknownID)", upgradeHeaders + ["Origin: https://evil.example"]),
            statusLine: "HTTP/1.1 403 Forbidden", body: #"{"error":"forbidden_origin"}"#),
        RefusalCase(
            name: "Origin null", bytes: httpRequest("/sessions/\(unknownID)", upgradeHeaders + ["Origin: null"]),
            statusLine: "HTTP/1.1 403 Forbidden", body: #"{"error":"forbidden_origin"}"#),
        RefusalCase(
            name: "a rebound Host (its own Origin)",
            bytes: httpRequest(
                "/sessions/\(unknownID)",
                ["Host: evil.example:8341", "Origin: http://evil.example:8341"] + upgradeHeaders.dropFirst()),
            statusLine: "HTTP/1.1 403 Forbidden", body: #"{"error":"forbidden_origin"}"#),
        RefusalCase(
            name: "an unknown session", bytes: httpRequest("/sessions/\(unknownID)"), statusLine: "HTTP/1.1 404 Not Found",
            body: #"{"error":"not_found"}"#),
        RefusalCase(
            name: "an unknown session, own Origin", bytes: httpRequest("/sessions/\(unknownID)", upgradeHeaders + ["Origin: http://localhost"]),
            statusLine: "HTTP/1.1 404 Not Found", body: #"{"error":"not_found"}"#),
        RefusalCase(
            name: "HTTP/1.0 (the version is echoed)", bytes: httpRequest("/nope", ["Host: localhost"], version: "HTTP/1.0"),
            statusLine: "HTTP/1.0 404 Not Found", body: #"{"error":"not_found"}"#),
    ]
}

@Suite("WebSocketServer: the handshake, over its Unix socket")
struct WebSocketHandshakeTests {
    @Test("a refused request is answered with the error's status and JSON body, then closed", arguments: RefusalCase.all)
    func refused(_ c: RefusalCase) async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            expectRefusal(try await refusal(path, h, c.bytes), c.statusLine, c.body)
        }
    }

    @Test("token mode: no credentials, or a wrong one, is 401 with WWW-Authenticate, before any session lookup")
    func unauthorized() async throws {
        try await HostHarness.with(instances: instances) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let unauthorized = #"{"error":"unauthorized"}"#
            for target in ["/sessions/\(session.id.rawValue)", "/sessions/\(SessionID.random().rawValue)"] {
                for extra in [[], ["Authorization: Bearer nope"], ["Cookie: amarre_auth=nope"], ["Authorization: Basic Zm9vOmJhcg=="]] {
                    expectRefusal(
                        try await refusal(path, h, httpRequest(target, upgradeHeaders + extra)), "HTTP/1.1 401 Unauthorized",
                        unauthorized, unauthorized: true)
                }
            }
            // The origin is checked first.
            expectRefusal(
                try await refusal(path, h, httpRequest("/sessions/\(session.id.rawValue)", upgradeHeaders + ["Origin: https://evil.example"])),
                "HTTP/1.1 403 Forbidden", #"{"error":"forbidden_origin"}"#)
            #expect(try await h.summary(session.id)?.clients == 0)
        }
    }

    @Test("token mode: a valid token reaches the session lookup, and the upgrade")
    func authorized() async throws {
        try await HostHarness.with(instances: instances) { h in
            let path = try await bindWebSocket(h)
            // devices.json lives in the state directory, which the harness does not make.
            try FileManager.default.createDirectory(atPath: h.dir + "/state", withIntermediateDirectories: true)
            let created = try await h.handle(.tokenCreate(name: "test"))
            guard case .deviceToken(_, _, let token) = created else {
                Issue.record("tokenCreate answered \(created)")
                return
            }
            expectRefusal(
                try await refusal(path, h, httpRequest("/sessions/\(SessionID.random().rawValue)", upgradeHeaders + ["Authorization: Bearer \(token)"])),
                "HTTP/1.1 404 Not Found", #"{"error":"not_found"}"#)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            for credential in ["Authorization: Bearer \(token)", "Cookie: theme=dark; \(AccessControl.cookieName)=\(token)"] {
                let client = try await RawSocketClient.connect(path, group: h.group)
                try await client.send(httpRequest("/sessions/\(session.id.rawValue)", upgradeHeaders + [credential]))
                let received = try await client.until("the 101 and the hello") { bytes in
                    RawResponse(bytes).map { !ServerFrame.parse($0.rest).isEmpty } ?? false
                }
                #expect(RawResponse(received)?.statusLine == "HTTP/1.1 101 Switching Protocols", "\(credential)")
                await client.close()
            }
        }
    }

    @Test("a session that is not running: 409 not_running")
    func notRunning() async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            let crashed = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            try await h.waitFor(crashed.id, "the crash") { $0.status == .crashed }
            expectRefusal(
                try await refusal(path, h, httpRequest("/sessions/\(crashed.id.rawValue)")), "HTTP/1.1 409 Conflict",
                #"{"error":"not_running","detail":"session is crashed"}"#)
        }
    }

    @Test("a session with as many viewers as it takes: 503 too_many_clients")
    func tooManyClients() async throws {
        try await HostHarness.with(instances: instances, configure: { $0.auth = .none; $0.maxClientsPerSession = 1 }) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let first = try await RawSocketClient.connect(path, group: h.group)
            try await first.send(httpRequest("/sessions/\(session.id.rawValue)"))
            try await first.until("the first viewer's hello") { RawResponse($0).map { !ServerFrame.parse($0.rest).isEmpty } ?? false }
            expectRefusal(
                try await refusal(path, h, httpRequest("/sessions/\(session.id.rawValue)")), "HTTP/1.1 503 Service Unavailable",
                #"{"error":"too_many_clients"}"#)
            #expect(try await h.summary(session.id)?.clients == 1)
            await first.close()
        }
    }

    @Test("an accepted upgrade is 101 with the accept key, then amarre.hello; a close is echoed and the socket closed")
    func accepted() async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let client = try await RawSocketClient.connect(path, group: h.group)
            try await client.send(httpRequest("/sessions/\(session.id.rawValue)?since=0", upgradeHeaders + ["X-Request-Id: abc"]))
            let received = try await client.until("the 101 and the hello") { bytes in
                RawResponse(bytes).map { !ServerFrame.parse($0.rest).isEmpty } ?? false
            }
            let response = try #require(RawResponse(received))
            #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
            #expect(response.header("Upgrade").map { $0.lowercased() } == ["websocket"])
            #expect(response.header("Connection").map { $0.lowercased() } == ["upgrade"])
            #expect(response.header("Sec-WebSocket-Accept") == [sampleAccept])
            #expect(response.header("Content-Length").isEmpty && response.header("Transfer-Encoding").isEmpty)
            let frames = ServerFrame.parse(response.rest)
            #expect(frames.count == 1)
            let hello = try #require(frames.first)
            #expect(hello.fin && hello.opcode == 0x1 && !hello.masked)
            #expect(hello.text.hasPrefix(#"{"type":"amarre.hello","#))
            #expect(hello.text.contains(#""sessionId":"\#(session.id.rawValue)""#))
            #expect(try await h.summary(session.id)?.clients == 1)

            // A ping through NIO's decoder reaches the connection: a pong with its payload.
            let before = received.count
            try await client.send(clientFrameBytes(opcode: 0x9, Array("hi".utf8)))
            let afterPing = try await client.until("the pong") { ServerFrame.parse(Array($0[before...])).count >= 1 }
            #expect(ServerFrame.parse(Array(afterPing[before...])) == [ServerFrame(fin: true, opcode: 0xA, masked: false, payload: Array("hi".utf8))])

            let beforeClose = afterPing.count
            try await client.send(clientFrameBytes(opcode: 0x8, [0x03, 0xE8] + Array("bye".utf8)))
            let all = try await client.untilClosed()
            #expect(ServerFrame.parse(Array(all[beforeClose...])) == [ServerFrame(fin: true, opcode: 0x8, masked: false, payload: [0x03, 0xE8])])
            _ = try await poll("the viewer to be detached") { try await h.summary(session.id)?.clients == 0 ? true : nil }
        }
    }

    @Test("a message in three fragments with a ping between them: one pong, and the agent gets the message once")
    func fragmentedMessage() async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let client = try await RawSocketClient.connect(path, group: h.group)
            try await client.send(httpRequest("/sessions/\(session.id.rawValue)"))
            let received = try await client.until("the hello") { RawResponse($0).map { !ServerFrame.parse($0.rest).isEmpty } ?? false }
            let start = received.count
            try await client.send(
                clientFrameBytes(opcode: 0x1, Array(#"{"frag":"#.utf8), fin: false)
                    + clientFrameBytes(opcode: 0x9, Array("mid".utf8))
                    + clientFrameBytes(opcode: 0x0, Array(#""men"#.utf8), fin: false)
                    + clientFrameBytes(opcode: 0x0, Array(#"ted"}"#.utf8)))
            // Echoed by `cat` after the message: everything before it has been answered.
            try await client.send(clientFrameBytes(opcode: 0x1, Array(#"{"probe":1}"#.utf8)))
            let all = try await client.until("the probe's echo") { bytes in
                ServerFrame.parse(Array(bytes[start...])).contains { $0.text.contains(#""probe":1"#) }
            }
            let frames = ServerFrame.parse(Array(all[start...]))
            #expect(frames.first == ServerFrame(fin: true, opcode: 0xA, masked: false, payload: Array("mid".utf8)))
            #expect(frames.filter { $0.opcode == 0xA }.count == 1, "one pong: \(frames)")
            let echoes = frames.filter { $0.opcode == 0x1 }.map(\.text)
            #expect(echoes.filter { $0.contains(#""frag":"mented""#) }.count == 1, "echoed once, joined: \(echoes)")
            #expect(echoes.firstIndex { $0.contains("frag") } ?? .max < echoes.firstIndex { $0.contains("probe") } ?? 0)
            #expect(frames.allSatisfy { $0.opcode != 0x8 }, "nothing closed")
            await client.close()
        }
    }

    @Test("an unmasked frame on the wire is closed with 1002")
    func unmaskedOnTheWire() async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let client = try await RawSocketClient.connect(path, group: h.group)
            try await client.send(httpRequest("/sessions/\(session.id.rawValue)"))
            let received = try await client.until("the hello") { RawResponse($0).map { !ServerFrame.parse($0.rest).isEmpty } ?? false }
            try await client.send(clientFrameBytes(opcode: 0x1, Array("{}".utf8), masked: false))
            let all = try await client.untilClosed()
            let frames = ServerFrame.parse(Array(all[received.count...]))
            #expect(frames.map(\.closeCode) == [1002])
        }
    }

    @Test("a frame over AMARRE_MAX_RECORD_BYTES is refused by NIO's decoder: one close frame, 1009")
    func frameTooBig() async throws {
        try await HostHarness.with(instances: instances, configure: { $0.auth = .none; $0.maxRecordBytes = 1024 }) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let client = try await RawSocketClient.connect(path, group: h.group)
            try await client.send(httpRequest("/sessions/\(session.id.rawValue)"))
            let received = try await client.until("the hello") { RawResponse($0).map { !ServerFrame.parse($0.rest).isEmpty } ?? false }
            // The header of a 2000-byte masked text frame: refused before its payload arrives.
            try await client.send([0x81, 0x80 | 126, 0x07, 0xD0, 1, 2, 3, 4])
            let all = try await client.untilClosed()
            let frames = ServerFrame.parse(Array(all[received.count...]))
            #expect(frames.map(\.closeCode) == [1009])
        }
    }

    @Test("an upgrade the decision accepts but NIO cannot complete (no Sec-WebSocket-Key): 400")
    func acceptedButInvalid() async throws {
        try await HostHarness.with(instances: instances, configure: open) { h in
            let path = try await bindWebSocket(h)
            let session = try await h.create(CreateSessionRequest(instanceId: "cat"))
            let headers = ["Host: localhost", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"]
            expectRefusal(
                try await refusal(path, h, httpRequest("/sessions/\(session.id.rawValue)", headers)), "HTTP/1.1 400 Bad Request",
                #"{"error":"bad_request","detail":"invalid WebSocket handshake"}"#)
            #expect(try await h.summary(session.id)?.clients == 0)
        }
    }
}
