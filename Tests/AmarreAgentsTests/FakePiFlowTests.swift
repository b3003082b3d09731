@testable import AmarreAgents
import AmarreCore
import AmarreJSON
import Foundation
import Testing

/// `PiAdapter` driving `Tests/fakes/fake-pi`, spawned with what `AgentAdapters.prepare` adds.
@Suite("PiAdapter with fake-pi")
struct FakePiFlowTests {
    static let scenario = #"""
        {"replies": [{"match": "work", "steps": [
          {"text": "Reading.", "tool": {"name": "read", "input": {"path": "README.md"}, "output": "# Title"}},
          {"tool": {"name": "bash", "input": {"command": "make test"}, "output": "ok"}},
          {"tool": {"name": "bash", "input": {"command": "make lint"}, "output": "clean"}},
          {"text": "All good."}]}]}
        """#

    @Test("the gate asks before bash, skips allowTools, and remembers an allow for the session; resume token learned")
    func gateFlow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-pi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scenario = directory.appendingPathComponent("scenario.json")
        try Data(Self.scenario.utf8).write(to: scenario)

        let fake = LineProcess.fakesDirectory.appendingPathComponent("fake-pi")
        var instance = InstanceConfig(id: "pi", agent: .pi)
        instance.allowTools = ["read"]
        var plan = SpawnPlan(
            executable: fake.path, arguments: [fake.path, "--mode", "rpc"],
            environment: [
                "FAKE_PI_SCENARIO": scenario.path, "FAKE_PI_SESSION_DIR": directory.path, "FAKE_PI_MAX_SECONDS": "60",
            ], cwd: nil)
        AgentAdapters.prepare(&plan, for: instance, resumeToken: nil)
        #expect(plan.arguments.contains("-e"))

        let process = try LineProcess(
            executable: URL(fileURLWithPath: plan.executable), arguments: Array(plan.arguments.dropFirst()),
            environment: plan.environment)
        var driver = try AdapterDriver(adapter: PiAdapter(idPrefix: "flow"), process: process)
        try driver.client(#"{"id":"p","type":"prompt","message":"do the work"}"#)

        let question = try driver.until(type: "extension_ui_request", method: "select")
        #expect(question["title"] == "Run bash?\nmake test")
        #expect(question["options"] == (try JSONFixture.parse(#"["Allow once","Allow bash for this session","Deny"]"#)))
        let id = try #require(question["id"]?.stringValue)
        try driver.client(#"{"type":"extension_ui_response","id":"\#(id)","value":"Allow bash for this session"}"#)
        try driver.until(type: "agent_end")

        #expect(driver.records("extension_ui_request").count == 1)
        #expect(driver.records("tool_execution_end").map { $0["isError"] } == [.bool(false), .bool(false), .bool(false)])
        #expect(driver.records("response").first?["command"] == "prompt")
        #expect(!driver.records("response").contains { $0["id"] == "flow-state" })
        let token = try #require(driver.adapter.resumeToken)
        #expect(token.hasPrefix(directory.path) && FileManager.default.fileExists(atPath: token))

        try process.closeStdin()
        #expect(try process.waitForExit() == 0)
    }
}
