@testable import AmarreAgents
import AmarreCore
import AmarreJSON
import Foundation
import Testing

/// `ClaudeCodeAdapter` driving `Tests/fakes/fake-claude` through pipes, as the host drives claude.
@Suite("ClaudeCodeAdapter with fake-claude")
struct FakeClaudeFlowTests {
    static let scenario = #"""
        {"sessionId": "sess-fake-1", "costPerTurn": 0.02, "replies": [
          {"match": "files", "steps": [
            {"thinking": "I should list them.", "text": "Listing the files.",
             "tool": {"name": "Bash", "input": {"command": "ls -la", "description": "List files"}, "output": "a.txt\nb.txt"}},
            {"text": "There are two files."}]},
          {"match": "wait", "steps": [
            {"text": "Waiting.", "tool": {"name": "Bash", "input": {"command": "sleep 100"}}, "hold": true}]}
        ]}
        """#

    /// A scratch directory with the scenario, and the fake's log.
    struct Scratch {
        let directory: URL
        var scenario: URL { directory.appendingPathComponent("scenario.json") }
        var log: URL { directory.appendingPathComponent("log.jsonl") }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-agents-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(FakeClaudeFlowTests.scenario.utf8).write(to: scenario)
        }

        /// The fake's log entries that have `key`.
        func entries(_ key: String) throws -> [JSONValue] {
            let text = try String(contentsOf: log, encoding: .utf8)
            return try text.split(separator: "\n").map { try JSONFixture.parse(String($0)) }.filter { $0[key] != nil }
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func start(_ scratch: Scratch, extraArguments: [String] = []) throws -> AdapterDriver<ClaudeCodeAdapter> {
        let process = try LineProcess(
            executable: LineProcess.fakesDirectory.appendingPathComponent("fake-claude"),
            arguments: SpawnPlan.claudeStreamArguments + extraArguments,
            environment: [
                "FAKE_CLAUDE_SCENARIO": scratch.scenario.path, "FAKE_CLAUDE_LOG": scratch.log.path,
                "FAKE_CLAUDE_MAX_SECONDS": "60",
            ])
        return try AdapterDriver(adapter: ClaudeCodeAdapter(idPrefix: "flow"), process: process)
    }

    @Test("prompt, streamed answer, permission asked and allowed, tool result, final answer, result")
    func allowFlow() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var driver = try Self.start(scratch)
        try driver.client(#"{"id":"p1","type":"prompt","message":"list the files"}"#)

        let question = try driver.until(type: "extension_ui_request", method: "confirm")
        #expect(question["title"] == "Allow Bash?")
        #expect(question["message"] == "ls -la\n# List files")
        let started = try #require(driver.records("tool_execution_start").first)
        #expect(started["args"] == (try JSONFixture.parse(#"{"command":"ls -la","description":"List files"}"#)))

        let id = try #require(question["id"]?.stringValue)
        try driver.client(#"{"type":"extension_ui_response","id":"\#(id)","confirmed":true}"#)
        let agentEnd = try driver.until(type: "agent_end")

        #expect(driver.types.first == "response")
        #expect(driver.types.filter { $0 == "agent_start" }.count == 1)
        #expect(driver.types.filter { $0 == "turn_start" }.count == 2)
        let ended = try #require(driver.records("tool_execution_end").first)
        #expect(ended == (try JSONFixture.parse(#"""
            {"type":"tool_execution_end","toolCallId":"toolu_fake_1","toolName":"Bash",
             "result":{"content":[{"type":"text","text":"a.txt\nb.txt"}]},"isError":false}
            """#)))
        let assistants = driver.records("message_end").compactMap { $0["message"] }.filter { $0["role"] == "assistant" }
        #expect(assistants.count == 2)
        #expect(assistants.first?["content"]?.arrayValue?.map { $0["type"]?.stringValue } == ["thinking", "text", "toolCall"])
        #expect(assistants.last?["content"] == (try JSONFixture.parse(#"[{"type":"text","text":"There are two files."}]"#)))
        #expect(agentEnd["cost"] == (try JSONFixture.parse("0.02")))
        #expect(agentEnd["messages"]?.arrayValue?.map { $0["role"]?.stringValue } == ["user", "assistant", "toolResult", "assistant"])
        #expect(driver.adapter.resumeToken == "sess-fake-1")

        let decisions = try scratch.entries("permission")
        #expect(decisions.count == 1)
        #expect(decisions.first?["decision"] == (try JSONFixture.parse(
            #"{"behavior":"allow","updatedInput":{"command":"ls -la","description":"List files"}}"#)))

        try driver.process.closeStdin()
        #expect(try driver.process.waitForExit() == 0)
    }

    @Test("a denied tool is refused with amarre's message and the turn still ends")
    func denyFlow() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var driver = try Self.start(scratch)
        try driver.client(#"{"type":"prompt","message":"list the files"}"#)
        let question = try driver.until(type: "extension_ui_request", method: "confirm")
        let id = try #require(question["id"]?.stringValue)
        try driver.client(#"{"type":"extension_ui_response","id":"\#(id)","confirmed":false}"#)
        try driver.until(type: "agent_end")

        let ended = try #require(driver.records("tool_execution_end").first)
        #expect(ended["isError"] == .bool(true))
        #expect(ended["result"]?["content"] == (try JSONFixture.parse(#"[{"type":"text","text":"Denied from amarre"}]"#)))
        #expect(try scratch.entries("permission").first?["decision"] == (try JSONFixture.parse(
            #"{"behavior":"deny","message":"Denied from amarre"}"#)))
        try driver.process.closeStdin()
        #expect(try driver.process.waitForExit() == 0)
    }

    @Test("a prompt sent while claude is busy is queued and runs after the first result, none lost")
    func queueWhileBusy() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var driver = try Self.start(scratch)
        try driver.client(#"{"type":"prompt","message":"list the files"}"#)
        let question = try driver.until(type: "extension_ui_request", method: "confirm")
        try driver.client(#"{"type":"prompt","message":"and then say hi"}"#)
        try driver.client(#"{"type":"follow_up","message":"and bye"}"#)
        #expect(driver.records("queue_update").last?["followUp"] == (try JSONFixture.parse(#"["and then say hi","and bye"]"#)))
        let id = try #require(question["id"]?.stringValue)
        try driver.client(#"{"type":"extension_ui_response","id":"\#(id)","confirmed":true}"#)
        try driver.until(type: "agent_end")
        try driver.until(type: "agent_end")
        let last = try driver.until(type: "agent_end")

        #expect(driver.types.filter { $0 == "agent_start" }.count == 3)
        let replies = driver.records("message_end").compactMap { $0["message"] }.filter { $0["role"] == "assistant" }
        #expect(replies.suffix(2).map { $0["content"]?.arrayValue?.first?["text"]?.stringValue } == ["You said: and then say hi", "You said: and bye"])
        #expect(last["messages"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == "and bye")
        let sent = try scratch.entries("stdin").compactMap { JSONValue.parse($0["stdin"]?.stringValue ?? "") }
            .filter { $0["type"] == "user" }
        #expect(sent.count == 3)
        try driver.process.closeStdin()
        #expect(try driver.process.waitForExit() == 0)
    }

    @Test("abort interrupts a waiting turn: the question is withdrawn and the run ends as aborted")
    func abortFlow() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var driver = try Self.start(scratch)
        try driver.client(#"{"type":"prompt","message":"wait for it"}"#)
        let question = try driver.until(type: "extension_ui_request", method: "confirm")
        try driver.client(#"{"id":"a","type":"abort"}"#)
        let end = try driver.until(type: "agent_end")
        #expect(driver.records("response").last == (try JSONFixture.parse(#"{"id":"a","type":"response","command":"abort","success":true}"#)))
        #expect(driver.records("control_cancel_request").count == 1)
        #expect(end["stopReason"] == "aborted")
        #expect(driver.records("tool_execution_end").first?["isError"] == .bool(true))

        // The withdrawn question can no longer be answered.
        let id = try #require(question["id"]?.stringValue)
        #expect(driver.adapter.fromClient(Array(#"{"type":"extension_ui_response","id":"\#(id)","confirmed":true}"#.utf8)).toAgent.isEmpty)
        try driver.process.closeStdin()
        #expect(try driver.process.waitForExit() == 0)
    }

    @Test("a resumed claude continues the recorded session id")
    func resume() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var driver = try Self.start(scratch, extraArguments: AgentAdapters.resumeArguments(agent: .claudeCode, token: "sess-old"))
        try driver.client(#"{"type":"prompt","message":"hello again"}"#)
        try driver.until(type: "agent_end")
        #expect(driver.adapter.resumeToken == "sess-old")
        try driver.process.closeStdin()
        #expect(try driver.process.waitForExit() == 0)
    }
}
