import AmarreCore
import AmarreHost
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Ignores SIGTERM, as does a grandchild it starts; both write their pids under `$T`.
private let stubborn = #"""
    trap '' TERM
    sh -c 'trap "" TERM; echo $$ > "$T/grandchild.pid"; while :; do sleep 0.1; done' &
    echo $$ > "$T/agent.pid"
    while :; do sleep 0.1; done
    """#

private func instances(_ dir: String) -> [InstanceConfig] {
    [
        InstanceConfig(id: "cat", agent: .command, command: ["cat"]),
        shell("crash3", "exit 3"),
        shell("selfkill", "kill -9 $$"),
        shell("stubborn", stubborn),
        shell("lines", #"printf 'one\ntwo\r\n\nthree'; exit 3"#),
        shell("asks", #"""
            printf '%s\n' '{"type":"extension_ui_request","id":"q1","method":"select","options":["a"]}'
            printf '%s\n' '{"type":"extension_ui_request","id":"n1","method":"notify"}'
            while [ ! -e "$T/go" ]; do sleep 0.02; done
            exit 4
            """#),
    ]
}

@Suite("SessionHost: agent processes")
struct SessionHostLifecycleTests {
    @Test("an agent that exits with 3 becomes crashed with exitCode 3")
    func crashWithExitCode() async throws {
        try await HostHarness.with(instances: instances) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            let crashed = try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            #expect(crashed.exitCode == 3)
            #expect(crashed.signal == nil)
            #expect(try await h.listedIDs() == [s.id])
        }
    }

    @Test("an agent killed by a signal becomes crashed with the signal's name")
    func crashWithSignal() async throws {
        try await HostHarness.with(instances: instances) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "selfkill"))
            let crashed = try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            #expect(crashed.signal == "SIGKILL")
            #expect(crashed.exitCode == nil)
        }
    }

    @Test("every line the agent wrote is sequenced before the crash event")
    func linesBeforeCrash() async throws {
        try await HostHarness.with(instances: instances) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "lines"))
            #expect(s.lastSeq == 0)
            let crashed = try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            // Three lines (the empty one skipped, the unterminated last one kept), then the crash event.
            #expect(crashed.lastSeq == 4)
        }
    }

    @Test("a question from the agent is pending until the agent goes away")
    func pendingQuestions() async throws {
        try await HostHarness.with(instances: instances) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "asks", env: ["T": h.dir]))
            let asked = try await h.waitFor(s.id, "the question") { $0.pendingRequests == ["q1"] }
            #expect(asked.status == .running)
            #expect(FileManager.default.createFile(atPath: h.dir + "/go", contents: nil))
            let crashed = try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            #expect(crashed.exitCode == 4)
            #expect(crashed.pendingRequests?.isEmpty != false)
        }
    }

    @Test("a crashed session can be deleted")
    func deleteCrashed() async throws {
        try await HostHarness.with(instances: instances) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            #expect(try await h.handle(.deleteSession(s.id)).deletedSessionID == s.id)
            #expect(try await h.listedIDs().isEmpty)
            try await h.stopAll(within: .seconds(5))
        }
    }

    @Test("deleting an agent that honours SIGTERM does not wait for the grace period")
    func deletePromptly() async throws {
        try await HostHarness.with(instances: instances, killGraceMs: 60_000) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "cat"))
            #expect(try await h.handle(.deleteSession(s.id)).deletedSessionID == s.id)
            try await h.stopAll(within: .seconds(10))
        }
    }

    @Test("deleting an agent that ignores SIGTERM kills it and its process group after the grace period")
    func deleteStubborn() async throws {
        try await HostHarness.with(instances: instances, killGraceMs: 200) { h in
            let s = try await h.create(CreateSessionRequest(instanceId: "stubborn", env: ["T": h.dir]))
            let agent = try await waitForPid(h.dir + "/agent.pid")
            let grandchild = try await waitForPid(h.dir + "/grandchild.pid")
            #expect(getpgid(agent) == agent, "the agent leads its own process group")
            #expect(kill(agent, 0) == 0)
            #expect(kill(grandchild, 0) == 0)
            #expect(getpgid(grandchild) == agent, "the grandchild is in the agent's process group")

            let start = ContinuousClock.now
            #expect(try await h.handle(.deleteSession(s.id)).deletedSessionID == s.id)
            #expect(try await h.listedIDs().isEmpty)
            try await h.stopAll(within: .seconds(5))
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(190), "SIGKILL came before the grace period: \(elapsed)")
            #expect(isReaped(agent), "the agent was reaped")
            _ = try await poll("the grandchild to die") { isGone(grandchild) ? true : nil }
        }
    }

    @Test("stopAll stops every agent, running or not, and its future completes")
    func stopAll() async throws {
        try await HostHarness.with(instances: instances, killGraceMs: 200) { h in
            _ = try await h.create(CreateSessionRequest(instanceId: "cat"))
            _ = try await h.create(CreateSessionRequest(instanceId: "stubborn", env: ["T": h.dir]))
            let crashed = try await h.create(CreateSessionRequest(instanceId: "crash3"))
            try await h.waitFor(crashed.id, "the crash") { $0.status == .crashed }
            let agent = try await waitForPid(h.dir + "/agent.pid")
            let grandchild = try await waitForPid(h.dir + "/grandchild.pid")
            try await h.stopAll(within: .seconds(5))
            #expect(try await h.listedIDs().isEmpty)
            #expect(isReaped(agent))
            _ = try await poll("the grandchild to die") { isGone(grandchild) ? true : nil }
        }
    }

    @Test("stopAll with no session completes at once")
    func stopAllEmpty() async throws {
        try await HostHarness.with(instances: instances) { h in
            try await h.stopAll(within: .seconds(1))
        }
    }

    @Test("a process that escaped the group and holds stdout delays the crash only until the drain deadline")
    func drainDeadline() async throws {
        let script = #"setsid sh -c 'echo $$ > "$T/escaped.pid"; exec sleep 30' & while [ ! -s "$T/escaped.pid" ]; do sleep 0.02; done; exit 3"#
        try await HostHarness.with(instances: { _ in [shell("leaky", script)] }) { h in
            let s = try await h.create(CreateSessionRequest(env: ["T": h.dir]))
            let escaped = try await waitForPid(h.dir + "/escaped.pid")
            defer { kill(escaped, SIGKILL) }
            let crashed = try await h.waitFor(s.id, "the crash", timeout: .seconds(15)) { $0.status == .crashed }
            #expect(crashed.exitCode == 3)
            #expect(kill(escaped, 0) == 0, "the escaped process still held stdout when the crash was reported")
        }
    }

    @Test("a failed restart leaves a session that can still be deleted")
    func failedRestartThenDelete() async throws {
        try await HostHarness.with(instances: instances) { h in
            let cwd = h.dir + "/gone"
            try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: false)
            let s = try await h.create(CreateSessionRequest(instanceId: "crash3", cwd: cwd))
            try await h.waitFor(s.id, "the crash") { $0.status == .crashed }
            try FileManager.default.removeItem(atPath: cwd)
            let restart = try await h.handle(.restartSession(s.id))
            #expect(restart.failure?.code == .badRequest, "\(restart)")
            #expect(try await h.summary(s.id)?.status == .crashed)
            #expect(try await h.handle(.deleteSession(s.id)).deletedSessionID == s.id)
            try await h.stopAll(within: .seconds(2))
        }
    }

    @Test("a crashing agent with a restart policy is restarted with backoff until the budget gives up")
    func automaticRestart() async throws {
        var agent = shell("flaky", #"echo run >> "$T/runs"; exit 3"#)
        agent.restart = RestartPolicy(policy: .onFailure, max: 2, windowSeconds: 60)
        try await HostHarness.with(instances: { _ in [agent] }, configure: { $0.restartBackoffMs = 10 }) { h in
            let s = try await h.create(CreateSessionRequest(env: ["T": h.dir]))
            // crashed, restarting, restarted (twice), then crashed and gave_up: eight records.
            let final = try await h.waitFor(s.id, "the budget to give up") { $0.status == .crashed && $0.lastSeq == 8 }
            #expect(final.exitCode == 3)
            #expect(final.id == s.id)
            #expect(completeLine(h.dir + "/runs") == "run\nrun\nrun\n")
        }
    }
}
