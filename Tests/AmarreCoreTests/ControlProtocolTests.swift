import AmarreCore
import Foundation
import Testing

private let id = SessionID("0123456789ab")!  // a literal of 12 lowercase hex digits

private let summary = SessionSummary(
    id: id, name: "work\nline", instanceId: "pi", status: .crashed, agent: "pi", spawnedAt: 1_700_000_000_000,
    clients: 2, exitCode: 3, signal: nil, cwd: "/tmp", createdAt: 1_600_000_000_000, lastSeq: 9,
    pendingRequests: ["q1"])

@Suite("ControlProtocol")
struct ControlProtocolTests {
    @Test(
        "every request survives a round trip as one line",
        arguments: [
            ControlRequest.health, .listInstances, .listSessions, .createSession(CreateSessionRequest()),
            .createSession(CreateSessionRequest(instanceId: "a", name: "n\n\"", cwd: "/", env: ["K": "V\n"])),
            .getSession(id), .deleteSession(id), .restartSession(id),
        ])
    func requestRoundTrip(request: ControlRequest) throws {
        let line = try ControlProtocol.encode(request)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false)
        #expect(try ControlProtocol.decode(ControlRequest.self, from: line.dropLast()) == request)
    }

    @Test(
        "every response survives a round trip as one line",
        arguments: [
            ControlResponse.health(HostHealth(sessions: 2, running: 1, version: ControlProtocol.version)),
            .instances([InstanceInfo(id: "pi", agent: "pi"), InstanceInfo(id: "d", agent: "demo")]), .instances([]),
            .sessions([summary]), .sessions([]), .session(summary),
            .session(SessionSummary(id: id, instanceId: "d", status: .running, agent: "demo", spawnedAt: 1, clients: 0)),
            .deleted, .failure(AmarreError(.maxSessionsReached, limit: 8)),
            .failure(AmarreError(.unknownInstance, instanceId: "x")), .failure(.badRequest("bad\ncwd")),
        ])
    func responseRoundTrip(response: ControlResponse) throws {
        let line = try ControlProtocol.encode(response)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false)
        #expect(try ControlProtocol.decode(ControlResponse.self, from: line.dropLast()) == response)
    }

    @Test("a summary omits absent fields instead of writing null")
    func summaryOmitsAbsent() throws {
        let running = SessionSummary(id: id, instanceId: "d", status: .running, agent: "demo", spawnedAt: 5, clients: 1)
        let text = String(decoding: try JSONEncoder().encode(running), as: UTF8.self)
        #expect(!text.contains("null"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "instanceId", "status", "agent", "spawnedAt", "clients"])
        #expect(object["id"] as? String == "0123456789ab")
        #expect(object["status"] as? String == "running")
    }

    @Test("a request that is not a control message fails to decode")
    func garbage() {
        #expect(throws: (any Error).self) { try ControlProtocol.decode(ControlRequest.self, from: Array("{}".utf8)) }
        #expect(throws: (any Error).self) { try ControlProtocol.decode(ControlRequest.self, from: Array("nope".utf8)) }
        #expect(throws: (any Error).self) {
            try ControlProtocol.decode(ControlRequest.self, from: Array(#"{"getSession":{"_0":"XYZ"}}"#.utf8))
        }
    }
}
