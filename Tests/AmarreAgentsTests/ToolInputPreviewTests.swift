@testable import AmarreAgents
import AmarreJSON
import Testing

@Suite("ToolInputPreview")
struct ToolInputPreviewTests {
    @Test(
        "the preview shows what a person needs to decide",
        arguments: [
            (#"{"command":"rm -rf build","description":"Clean the build"}"#, "rm -rf build\n# Clean the build"),
            (#"{"file_path":"/w/a.swift","old_string":"let a = 1","new_string":"let a = 2"}"#, "/w/a.swift\n- let a = 1\n+ let a = 2"),
            (#"{"file_path":"/w/new.txt","content":"hello"}"#, "/w/new.txt\nhello"),
            (#"{"path":"src/x.ts","edits":[{"oldText":"a","newText":"b"}]}"#, "src/x.ts\n- a\n+ b"),
            (#"{"pattern":"TODO","path":"/w"}"#, "TODO\nin /w"),
            (#"{"url":"https://example.org","prompt":"Summarise"}"#, "https://example.org\nSummarise"),
            (#"{"query":"swift nio"}"#, "swift nio"),
            (#"{"plan":"1. Do it"}"#, "1. Do it"),
            (#"{"todos":[{"content":"x"}]}"#, #"{"todos":[{"content":"x"}]}"#),
        ])
    func readable(input: String, expected: String) throws {
        let value = try #require(JSONValue.parse(input))
        #expect(ToolInputPreview.text(for: value) == expected)
    }

    @Test("a long input is cut to 400 characters, ending with an ellipsis")
    func bounded() throws {
        let command = String(repeating: "é", count: 1000)
        let preview = ToolInputPreview.text(for: ["command": .string(command)])
        #expect(preview.count == 400)
        #expect(preview.hasSuffix("…"))
        #expect(ToolInputPreview.text(for: ["command": "short"]) == "short")
    }
}
