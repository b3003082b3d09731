import AmarreCore
import AmarreHost
import Foundation
import Testing

private func standard(_ dir: String) -> [InstanceConfig] {
    [
        InstanceConfig(id: "cat", agent: .command, command: ["cat"]),
        shell("crash3", "exit 3"),
        InstanceConfig(id: "demo", agent: .command, command: ["cat"]),
    ]
}

@Suite("SessionHost: control requests")
struct SessionHostTests {
    @Test("a created session is running, listed, found and deleted")
    func createListGetDelete() async throws {
        try await HostHarness.with(instances: standard) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "cat", name: "work", cwd: h.dir))
            #expect(s.status == .running)
            #expect(s.instanceId == "cat")
            #expect(s.agent == "command")
            #expect(s.name == "work")
            #expect(s.cwd == h.dir)
            #expect(s.clients == 0)
            #expect(s.exitCode == nil && s.signal == nil)
            #expect(s.spawnedAt > 0)
            #expect(SessionID(s.id.rawValue) == s.id)

            #expect(try await h.listedIDs() == [s.id])
            #expect(try await h.summary(s.id)?.id == s.id)
            #expect(try await h.handle(.deleteSession(s.id)).deletedSessionID == s.id)
            #expect(try await h.handle(.getSession(s.id)) == .failure(.notFound))
            #expect(try await h.listedIDs().isEmpty)
            #expect(try await h.handle(.deleteSession(s.id)) == .failure(.notFound))
        }
    }

    @Test("without instanceId the instance named default is used, else the first")
    func defaultInstance() async throws {
        try await HostHarness.with(instances: standard) { h in
            let s = try await h.create()
            #expect(s.instanceId == "cat")
        }
        try await HostHarness.with(instances: { _ in
            [InstanceConfig(id: "a", agent: .command, command: ["cat"]),
             InstanceConfig(id: "default", agent: .command, command: ["cat"])]
        }) { h in
            let s = try await h.create()
            #expect(s.instanceId == "default")
        }
    }

    @Test("sessions are listed in creation order")
    func creationOrder() async throws {
        try await HostHarness.with(instances: standard) { h in
            var ids: [SessionID] = []
            for _ in 0..<4 { ids.append(try await h.create().id) }
            #expect(try await h.listedIDs() == ids)
            #expect(try await h.handle(.deleteSession(ids[1])).deletedSessionID == ids[1])
            ids.remove(at: 1)
            #expect(try await h.listedIDs() == ids)
        }
    }

    @Test("health counts sessions and running agents; instances are listed in configuration order")
    func healthAndInstances() async throws {
        try await HostHarness.with(instances: standard) { h in
            #expect(try await h.handle(.health) == .health(HostHealth(sessions: 0, running: 0, version: ControlProtocol.version)))
            _ = try await h.create()
            let crashed = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            try await h.waitFor(crashed.id, "the crash") { $0.status == .crashed }
            #expect(try await h.handle(.health) == .health(HostHealth(sessions: 2, running: 1, version: ControlProtocol.version)))
            #expect(
                try await h.handle(.listInstances)
                    == .instances([
                        InstanceInfo(id: "cat", agent: "command"), InstanceInfo(id: "crash3", agent: "command"),
                        InstanceInfo(id: "demo", agent: "command"),
                    ]))
        }
    }

    @Test("restart of a running session is already_running")
    func restartRunning() async throws {
        try await HostHarness.with(instances: standard) { h in
            let s = try await h.create()
            #expect(try await h.handle(.restartSession(s.id)) == .failure(AmarreError(.alreadyRunning)))
            #expect(AmarreError(.alreadyRunning).httpStatus == 409)
        }
    }

    @Test("restart of a crashed session runs it again in place")
    func restartCrashed() async throws {
        try await HostHarness.with(instances: { dir in
            // Crashes on the first run, stays up on the second.
            [shell("once", #"if [ -e "$T/ran" ]; then exec cat; fi; : > "$T/ran"; exit 3"#)]
        }) { h in
            let s = try await h.create(CreateSessionRequest(name: "n", cwd: h.dir, env: ["T": h.dir]))
            let crashed = try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            #expect(crashed.exitCode == 3)
            guard case .sessionJSON(let json) = try await h.handle(.restartSession(s.id)) else {
                Issue.record("restart failed")
                return
            }
            let restarted = try json.decode(SessionSummary.self)
            #expect(restarted.id == s.id)
            #expect(restarted.status == .running)
            #expect(restarted.exitCode == nil && restarted.signal == nil)
            #expect(restarted.name == "n")
            #expect(restarted.cwd == h.dir)
            #expect(restarted.instanceId == "once")
            #expect(restarted.createdAt == s.createdAt)
            #expect(try await h.listedIDs() == [s.id])
            #expect(try await h.summary(s.id)?.status == .running)
        }
    }

    @Test("restart of an unknown session is not_found")
    func restartUnknown() async throws {
        try await HostHarness.with(instances: standard) { h in
            let id = try #require(SessionID("0123456789ab"))
            #expect(try await h.handle(.restartSession(id)) == .failure(.notFound))
            #expect(try await h.handle(.getSession(id)) == .failure(.notFound))
        }
    }

    @Test("the session cap is checked before the instance, and counts crashed sessions")
    func capBeforeInstance() async throws {
        try await HostHarness.with(instances: standard, maxSessions: 2) { h in
            _ = try await h.create()
            let crashed = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            try await h.waitFor(crashed.id, "the crash") { $0.status == .crashed }
            let full = AmarreError(.maxSessionsReached, limit: 2)
            #expect(try await h.handle(.createSession(CreateSessionRequest(instanceId: "nope"))) == .failure(full))
            #expect(try await h.handle(.createSession(CreateSessionRequest())) == .failure(full))
            #expect(full.jsonBody == #"{"error":"max_sessions_reached","limit":2}"#)
            // Deleting one makes room again.
            #expect(try await h.handle(.deleteSession(crashed.id)).deletedSessionID == crashed.id)
            _ = try await h.create()
        }
    }

    @Test("an unknown instance is unknown_instance naming it")
    func unknownInstance() async throws {
        try await HostHarness.with(instances: standard) { h in
            let response = try await h.handle(.createSession(CreateSessionRequest(instanceId: "nope")))
            #expect(response == .failure(AmarreError(.unknownInstance, instanceId: "nope")))
            #expect(try await h.listedIDs().isEmpty)
        }
    }

    @Test("a cwd that is not a directory is bad_request", arguments: ["file", "missing"])
    func cwdNotDirectory(kind: String) async throws {
        try await HostHarness.with(instances: standard) { h in
            let path = h.dir + "/" + kind
            if kind == "file" { #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
            let response = try await h.handle(.createSession(CreateSessionRequest(cwd: path)))
            #expect(response.failure?.code == .badRequest)
            #expect(response.failure?.detail?.contains(path) == true)
            #expect(try await h.listedIDs().isEmpty)
        }
    }

    @Test("a program that does not exist is spawn_failed and leaves no session", arguments: ["/nonexistent/agent", "no-such-agent-amarre"])
    func missingProgram(program: String) async throws {
        try await HostHarness.with(instances: { _ in [InstanceConfig(id: "x", agent: .command, command: [program])] }) { h in
            let response = try await h.handle(.createSession(CreateSessionRequest()))
            #expect(response.failure?.code == .spawnFailed)
            #expect(response.failure?.detail?.contains(program) == true)
            #expect(try await h.listedIDs().isEmpty)
            #expect(try await h.handle(.health) == .health(HostHealth(sessions: 0, running: 0, version: ControlProtocol.version)))
        }
    }

    @Test("a file that exec refuses is spawn_failed and leaves no session")
    func execFails() async throws {
        try await HostHarness.with(instances: { dir in [InstanceConfig(id: "x", agent: .command, command: [dir + "/not-a-program"])] }) { h in
            let path = h.dir + "/not-a-program"
            #expect(FileManager.default.createFile(atPath: path, contents: Data("no shebang here\n".utf8), attributes: [.posixPermissions: 0o755]))
            let response = try await h.handle(.createSession(CreateSessionRequest()))
            #expect(response.failure?.code == .spawnFailed)
            #expect(response.failure?.detail?.contains("exec") == true, "\(response)")
            #expect(try await h.listedIDs().isEmpty)
        }
    }

    @Test("the agent runs in the requested cwd with server < instance < session environment")
    func cwdAndEnvironment() async throws {
        let script = #"pwd -P > "$T/cwd"; printf '%s,%s,%s,%s\n' "$A" "$B" "$C" "${HOME-unset}" > "$T/env"; exec cat"#
        try await HostHarness.with(
            instances: { _ in [shell("env", script, env: ["B": "instance", "C": "instance"])] },
            serverEnvironment: ["PATH": "/usr/bin:/bin", "A": "server", "B": "server", "C": "server"]
        ) { h in
            let sub = h.dir + "/work dir"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
            _ = try await h.create(CreateSessionRequest(cwd: sub, env: ["C": "session", "T": h.dir]))
            let env = try await poll("the env file") { completeLine(h.dir + "/env") }
            let cwd = try await poll("the cwd file") { completeLine(h.dir + "/cwd") }
            #expect(env == "server,instance,session,unset\n")
            #expect(cwd == URL(fileURLWithPath: sub).resolvingSymlinksInPath().path + "\n")
        }
    }
}
