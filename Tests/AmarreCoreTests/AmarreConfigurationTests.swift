import AmarreCore
import Foundation
import Testing

private let base = ["HOME": "/home/u"]

private func load(
    _ extra: [String: String], isExecutable: (String) -> Bool = { _ in false }
) throws(ConfigurationError) -> AmarreConfiguration {
    try AmarreConfiguration.fromEnvironment(base.merging(extra) { _, new in new }, isExecutable: isExecutable)
}

/// The message of the error `body` throws, or nil.
private func failure(_ body: () throws(ConfigurationError) -> AmarreConfiguration) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.message
    }
}

@Suite("AmarreConfiguration")
struct AmarreConfigurationTests {
    @Test("an empty environment gives the documented defaults")
    func defaults() throws {
        let c = try load([:])
        #expect(c.port == 8341)
        #expect(c.host == "127.0.0.1")
        #expect(c.stateDir == "/home/u/.local/state/amarre")
        #expect(c.maxSessions == 8)
        #expect(c.maxRecordBytes == 16 << 20)
        #expect(c.killGraceMs == 5000)
        #expect(c.allowedOrigins.isEmpty)
        #expect(c.clientBufferBytes == 8 << 20)
        #expect(c.stdinBufferBytes == 1 << 20)
        #expect(c.stderrLineBytes == 4096)
        #expect(c.pingIntervalMs == 30_000)
        #expect(c.apiThreads == 2 * ProcessInfo.processInfo.activeProcessorCount + 2)
        #expect(c.basePath == "/")
        #expect(c.metricsToken == nil)
        #expect(c.socketMode == 0o660)
        #expect(c.durable)
        #expect(c.retainRecords == 100_000)
        #expect(c.retainBytes == 256 << 20)
        #expect(c.commitIntervalMs == 50)
        #expect(c.restartBackoffMs == 1000)
        #expect(c.demoAgentBin == nil)
        #expect(c.piBin == "pi")
        #expect(c.claudeBin == "claude")
        #expect(c.instances == [InstanceConfig(id: "demo", agent: .demo)])
    }

    @Test("every variable is read")
    func everyVariable() throws {
        let c = try load([
            "AMARRE_PORT": "9000", "AMARRE_HOST": "0.0.0.0", "AMARRE_STATE_DIR": "/var/lib/amarre",
            "AMARRE_MAX_SESSIONS": "3", "AMARRE_MAX_RECORD_BYTES": "1024", "AMARRE_KILL_GRACE_MS": "250",
            "AMARRE_ALLOWED_ORIGINS": " https://A.example:443/ ,, http://b.example ",
            "AMARRE_CLIENT_BUFFER_BYTES": "2048", "AMARRE_STDIN_BUFFER_BYTES": "4096",
            "AMARRE_STDERR_LINE_BYTES": "100", "AMARRE_PING_INTERVAL_MS": "1500", "AMARRE_API_THREADS": "2",
            "AMARRE_SOCKET_MODE": "0600", "AMARRE_DEMO_AGENT_BIN": "/opt/demo", "PI_BIN": "/opt/pi",
            "CLAUDE_BIN": "/opt/claude", "AMARRE_DURABLE": "0", "AMARRE_RETAIN_RECORDS": "10",
            "AMARRE_RETAIN_BYTES": "4096", "AMARRE_COMMIT_INTERVAL_MS": "5", "AMARRE_RESTART_BACKOFF_MS": "20",
        ])
        #expect(c.port == 9000)
        #expect(c.host == "0.0.0.0")
        #expect(c.stateDir == "/var/lib/amarre")
        #expect(c.maxSessions == 3)
        #expect(c.maxRecordBytes == 1024)
        #expect(c.killGraceMs == 250)
        #expect(c.allowedOrigins == ["https://a.example", "http://b.example"])
        #expect(c.clientBufferBytes == 2048)
        #expect(c.stdinBufferBytes == 4096)
        #expect(c.stderrLineBytes == 100)
        #expect(c.pingIntervalMs == 1500)
        #expect(c.apiThreads == 2)
        #expect(c.socketMode == 0o600)
        #expect(c.demoAgentBin == "/opt/demo")
        #expect(c.piBin == "/opt/pi")
        #expect(c.claudeBin == "/opt/claude")
        #expect(!c.durable)
        #expect(c.retainRecords == 10)
        #expect(c.retainBytes == 4096)
        #expect(c.commitIntervalMs == 5)
        #expect(c.restartBackoffMs == 20)
    }

    @Test("AMARRE_DURABLE takes the usual words for on and off", arguments: [
        ("1", true), ("true", true), ("YES", true), ("on", true), ("0", false), ("false", false), ("No", false), ("off", false),
    ])
    func durableWords(value: String, durable: Bool) throws {
        #expect(try load(["AMARRE_DURABLE": value]).durable == durable)
    }

    @Test("AMARRE_DURABLE with another word is an error naming it")
    func durableBad() {
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_DURABLE": "maybe"]) }
        #expect(message?.contains("AMARRE_DURABLE") == true)
        #expect(message?.contains("maybe") == true)
    }

    @Test("socket paths live under the state directory")
    func derivedPaths() throws {
        let c = AmarreConfiguration(stateDir: "/s")
        #expect(c.runDir == "/s/run")
        #expect(c.socketDir == "/s/sockets")
        #expect(c.apiSocketPath == "/s/sockets/api.sock")
        #expect(c.hostSocketPath == "/s/sockets/host.sock")
        #expect(c.controlSocketPath == "/s/run/control.sock")
        #expect(c.devicesPath == "/s/devices.json")
        var moved = c
        moved.socketDirOverride = "/run/amarre"
        #expect(moved.apiSocketPath == "/run/amarre/api.sock")
        #expect(moved.controlSocketPath == "/s/run/control.sock")
        #expect(c.logDir == "/s/log")
        #expect(c.databasePath == "/s/amarre.sqlite")
    }

    @Test("a blank variable counts as unset")
    func blankIsUnset() throws {
        let c = try load(["AMARRE_MAX_SESSIONS": "  ", "AMARRE_STATE_DIR": "", "AMARRE_HOST": " "])
        #expect(c.maxSessions == 8)
        #expect(c.host == "127.0.0.1")
        #expect(c.stateDir == "/home/u/.local/state/amarre")
    }

    @Test("the kill grace may be zero")
    func zeroGrace() throws {
        #expect(try load(["AMARRE_KILL_GRACE_MS": "0"]).killGraceMs == 0)
    }

    @Test(
        "a number that is not a positive integer is an error naming the variable",
        arguments: [
            ("AMARRE_MAX_SESSIONS", "abc"), ("AMARRE_MAX_SESSIONS", "0"), ("AMARRE_MAX_SESSIONS", "-1"),
            ("AMARRE_MAX_SESSIONS", "1.5"), ("AMARRE_PORT", "0"), ("AMARRE_MAX_RECORD_BYTES", "lots"),
            ("AMARRE_KILL_GRACE_MS", "-5"), ("AMARRE_CLIENT_BUFFER_BYTES", "0"), ("AMARRE_STDIN_BUFFER_BYTES", "x"),
            ("AMARRE_STDERR_LINE_BYTES", "0"), ("AMARRE_PING_INTERVAL_MS", "-1"), ("AMARRE_API_THREADS", "0"),
            ("AMARRE_RETAIN_RECORDS", "0"), ("AMARRE_RETAIN_BYTES", "x"), ("AMARRE_COMMIT_INTERVAL_MS", "-3"),
            ("AMARRE_RESTART_BACKOFF_MS", "soon"),
        ])
    func badNumbers(name: String, value: String) {
        let message = failure { () throws(ConfigurationError) in try load([name: value]) }
        #expect(message?.contains(name) == true, "\(message ?? "no error")")
        #expect(message?.contains(value) == true)
    }

    @Test("durations and sizes past their maximum are errors naming the variable")
    func maximums() {
        for (name, value) in [("AMARRE_PUSH_GRACE_MS", "10000000000000"), ("AMARRE_PAIR_TTL_S", "999999999"), ("AMARRE_KILL_GRACE_MS", "3600001")] {
            let message = failure { () throws(ConfigurationError) in try load([name: value]) }
            #expect(message?.contains(name) == true, "\(name)")
        }
        #expect((try? load(["AMARRE_PUSH_GRACE_MS": "86400000"]))?.pushGraceMs == 86_400_000)
    }

    @Test("a port above 65535 is an error")
    func portTooLarge() {
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_PORT": "70000"]) }
        #expect(message?.contains("AMARRE_PORT") == true)
    }

    @Test("a socket mode that is not octal is an error", arguments: ["999", "0", "1000", "rw", "-1"])
    func badSocketMode(value: String) {
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_SOCKET_MODE": value]) }
        #expect(message?.contains("AMARRE_SOCKET_MODE") == true)
    }

    @Test("the state directory comes from AMARRE_STATE_DIR, else XDG_STATE_HOME, else HOME")
    func stateDir() throws {
        #expect(try load(["AMARRE_STATE_DIR": "/a", "XDG_STATE_HOME": "/x"]).stateDir == "/a")
        #expect(try load(["XDG_STATE_HOME": "/x"]).stateDir == "/x/amarre")
        #expect(try load([:]).stateDir == "/home/u/.local/state/amarre")
        let message = failure { () throws(ConfigurationError) in try AmarreConfiguration.fromEnvironment([:]) }
        #expect(message?.contains("AMARRE_STATE_DIR") == true)
    }

    @Test("AMARRE_INSTANCES_JSON lists the instances in order")
    func instancesJSON() throws {
        let json = #"""
            [{"id":"a","agent":"pi","env":{"K":"V"},"model":"m","args":["--x"]},
             {"id":"b","agent":"command","command":["cat"]},
             {"id":"c","agent":"claude-code"},{"id":"d","agent":"demo"}]
            """#
        let c = try load(["AMARRE_INSTANCES_JSON": json], isExecutable: { _ in true })
        #expect(c.instances.map(\.id) == ["a", "b", "c", "d"])
        #expect(c.instances[0] == InstanceConfig(id: "a", agent: .pi, env: ["K": "V"], args: ["--x"], model: "m"))
        #expect(c.instances[1].command == ["cat"])
        #expect(c.instances[2].agent == .claudeCode)
    }

    @Test("instance options and restart policies are read, with defaults for max and window")
    func instanceOptions() throws {
        let json = #"""
            [{"id":"a","agent":"pi","allowTools":["read","ls"],"restart":{"policy":"on-failure"}},
             {"id":"b","agent":"claude-code","raw":true,"restart":{"policy":"always","max":5,"windowSeconds":10}}]
            """#
        let c = try load(["AMARRE_INSTANCES_JSON": json])
        #expect(c.instances[0].allowTools == ["read", "ls"])
        #expect(c.instances[0].restart == RestartPolicy(policy: .onFailure, max: 3, windowSeconds: 60))
        #expect(c.instances[1].raw == true)
        #expect(c.instances[1].restart == RestartPolicy(policy: .always, max: 5, windowSeconds: 10))
        let bad = failure { () throws(ConfigurationError) in
            try load(["AMARRE_INSTANCES_JSON": #"[{"id":"a","agent":"pi","restart":{"policy":"sometimes"}}]"#])
        }
        #expect(bad?.contains("AMARRE_INSTANCES_JSON") == true)
    }

    @Test("duplicate instance ids are an error naming the id")
    func duplicateIDs() {
        let json = #"[{"id":"a","agent":"demo"},{"id":"a","agent":"pi"}]"#
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_INSTANCES_JSON": json]) }
        #expect(message?.contains("duplicate") == true)
        #expect(message?.contains(#""a""#) == true)
    }

    @Test("an unknown agent is an error naming the instance and the agent")
    func unknownAgent() {
        let json = #"[{"id":"ok","agent":"demo"},{"id":"weird","agent":"gpt"}]"#
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_INSTANCES_JSON": json]) }
        #expect(message?.contains(#"instance "weird""#) == true, "\(message ?? "no error")")
        #expect(message?.contains(#""gpt""#) == true)
    }

    @Test(
        "a command instance without a command is an error naming the instance",
        arguments: [
            #"[{"id":"c1","agent":"command"}]"#, #"[{"id":"c1","agent":"command","command":[]}]"#,
            #"[{"id":"c1","agent":"command","command":[""]}]"#,
        ])
    func commandWithoutArgv(json: String) {
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_INSTANCES_JSON": json]) }
        #expect(message?.contains(#"instance "c1""#) == true, "\(message ?? "no error")")
        #expect(message?.contains("command") == true)
    }

    @Test(
        "malformed AMARRE_INSTANCES_JSON is an error naming the variable",
        arguments: [
            "not json", "{}", "[]", #"[{"agent":"demo"}]"#, #"[{"id":1,"agent":"demo"}]"#,
            #"[{"id":"a","agent":"demo","env":{"K":1}}]"#, #"[{"id":"","agent":"demo"}]"#,
        ])
    func malformedInstances(json: String) {
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_INSTANCES_JSON": json]) }
        #expect(message != nil)
        if json != #"[{"id":"","agent":"demo"}]"# {
            #expect(message?.contains("AMARRE_INSTANCES_JSON") == true, "\(message ?? "no error")")
        }
    }

    @Test("a missing field is named with its position")
    func missingFieldIsLocated() {
        let message = failure { () throws(ConfigurationError) in
            try load(["AMARRE_INSTANCES_JSON": #"[{"id":"a","agent":"demo"},{"agent":"demo"}]"#])
        }
        #expect(message?.contains(#"missing "id""#) == true, "\(message ?? "no error")")
        #expect(message?.contains("[1]") == true)
    }

    @Test("legacy AMARRE_AGENT configures one instance named default")
    func legacyAgent() throws {
        let c = try load(["AMARRE_AGENT": "pi"])
        #expect(c.instances == [InstanceConfig(id: "default", agent: .pi)])
        #expect(c.defaultInstance?.id == "default")
        let message = failure { () throws(ConfigurationError) in try load(["AMARRE_AGENT": "bogus"]) }
        #expect(message?.contains(#""bogus""#) == true)
    }

    @Test("AMARRE_INSTANCES_JSON takes precedence over AMARRE_AGENT")
    func instancesJSONWins() throws {
        let c = try load(["AMARRE_AGENT": "pi", "AMARRE_INSTANCES_JSON": #"[{"id":"x","agent":"demo"}]"#])
        #expect(c.instances.map(\.id) == ["x"])
    }

    @Test("without configuration, pi and claude-code are offered only when they can run; demo always")
    func autoDetection() throws {
        #expect(try load([:], isExecutable: { _ in false }).instances.map(\.id) == ["demo"])
        #expect(try load([:], isExecutable: { $0 == "pi" }).instances.map(\.id) == ["pi", "demo"])
        #expect(try load([:], isExecutable: { $0 == "claude" }).instances.map(\.id) == ["claude-code", "demo"])
        let all = try load([:], isExecutable: { _ in true }).instances
        #expect(all.map(\.id) == ["pi", "claude-code", "demo"])
        #expect(all.map(\.agent) == [.pi, .claudeCode, .demo])
    }

    @Test("auto-detection checks the configured binaries")
    func autoDetectionUsesBinaries() throws {
        var asked: [String] = []
        _ = try load(["PI_BIN": "/opt/pi", "CLAUDE_BIN": "/opt/claude"], isExecutable: { asked.append($0); return false })
        #expect(asked == ["/opt/pi", "/opt/claude"])
    }

    @Test("the default instance is the one named default, else the first")
    func defaultInstance() {
        var c = AmarreConfiguration(stateDir: "/s", instances: [
            InstanceConfig(id: "a", agent: .demo), InstanceConfig(id: "default", agent: .pi),
        ])
        #expect(c.defaultInstance?.id == "default")
        #expect(c.instance(nil)?.id == "default")
        #expect(c.instance("a")?.id == "a")
        #expect(c.instance("zz") == nil)
        c.instances = [InstanceConfig(id: "a", agent: .demo), InstanceConfig(id: "b", agent: .pi)]
        #expect(c.defaultInstance?.id == "a")
        c.instances = []
        #expect(c.defaultInstance == nil)
        #expect(c.instance(nil) == nil)
    }
}
