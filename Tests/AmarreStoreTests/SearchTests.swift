import AmarreCore
@testable import AmarreStore
import Foundation
import Logging
import Testing

@Suite("Search: query syntax, what is indexed, snippets")
struct SearchTests {
    @Test("words, phrases and prefixes become quoted FTS5 terms; FTS5's own syntax is plain words")
    func queries() throws {
        #expect(try SearchQuery.parse("fix migration").fts5 == #""fix" "migration""#)
        #expect(try SearchQuery.parse(#"  "fixed in db"  schema*"#).fts5 == #""fixed in db" "schema"*"#)
        #expect(try SearchQuery.parse("a OR b NOT c").fts5 == #""a" "OR" "b" "NOT" "c""#)
        #expect(try SearchQuery.parse("text:foo NEAR(a b)").fts5 == #""text:foo" "NEAR(a" "b)""#)
        #expect(try SearchQuery.parse("x -- y").terms == [.word("x"), .word("y")])
    }

    @Test("bad syntax is refused with a reason", arguments: [
        "", "   ", #""unbalanced"#, "*", "a*", "a*b", "**", "--- ...", "\u{0}x", String(repeating: "w ", count: 33),
        String(repeating: "x", count: 1001),
    ])
    func refused(text: String) {
        #expect(throws: SearchQuery.Invalid.self) { try SearchQuery.parse(text) }
    }

    @Test("complete records are indexed by kind; deltas and other records are not")
    func entries() {
        func e(_ json: String) -> [SearchText.Entry] { SearchText.entries(Array(json.utf8)) }
        #expect(e(#"{"type":"message_end","message":{"role":"user","content":"hello there"}}"#) == [.init(kind: "user", text: "hello there")])
        #expect(
            e(#"{"type":"message_end","message":{"role":"assistant","content":[{"type":"text","text":"done"},{"type":"thinking","thinking":"hmm"}]}}"#)
                == [.init(kind: "assistant", text: "done"), .init(kind: "thinking", text: "hmm")])
        #expect(e(#"{"type":"tool_execution_start","toolName":"bash","args":{"command":"ls -la"}}"#) == [.init(kind: "tool_call", text: "bash ls -la")])
        #expect(
            e(#"{"type":"tool_execution_end","toolName":"bash","result":{"content":[{"type":"text","text":"file.txt"}]}}"#)
                == [.init(kind: "tool_output", text: "file.txt")])
        #expect(e(#"{"type":"tool_execution_end","result":"plain"}"#) == [.init(kind: "tool_output", text: "plain")])
        #expect(e(#"{"type":"message_update","assistantMessageEvent":{"type":"text_delta","delta":"x"}}"#).isEmpty)
        #expect(e(#"{"type":"message_end","message":{"role":"toolResult","content":"x"}}"#).isEmpty)
        #expect(e("not json").isEmpty)
    }

    @Test("a snippet is a window of plain text around the first match, offsets in UTF-16")
    func snippets() {
        let s = RecordReader.snippet("😀 a \u{2}migration\u{3} b")
        #expect(s.text == "😀 a migration b")
        #expect(s.matches == [[5, 14]])
        let long = String(repeating: "word ", count: 200) + "\u{2}needle\u{3} " + String(repeating: "tail ", count: 200)
        let cut = RecordReader.snippet(long)
        #expect(cut.text.hasPrefix("…") && cut.text.hasSuffix("…"))
        #expect(cut.text.count <= RecordReader.snippetCharacters + 2)
        let m = cut.matches[0]
        let utf16 = Array(cut.text.utf16)
        #expect(String(decoding: utf16[m[0]..<m[1]], as: UTF16.self) == "needle")
    }

    @Test("the writer indexes, retention and deletes remove, and a search pages with a cursor")
    func store() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-search-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.path + "/amarre.sqlite"
        let store = try RecordStore(
            path: path, retention: Retention(records: 5, bytes: 1 << 20), commitIntervalMs: 10,
            logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        let a = SessionID.random()
        store.save(StoredSession(id: a, name: "alpha", instanceId: "i", cwd: nil, env: nil, status: .running, createdAt: 1, spawnedAt: 1, position: 1))
        for seq in Int64(1)...8 {
            let text = #"{"_seq":\#(seq),"type":"message_end","message":{"role":"assistant","content":"needle number \#(seq)"}}"#
            store.append(a, seq: seq, data: Array(text.utf8), type: "message_end")
        }
        store.flush()
        let reader = try RecordReader(path: path)
        let query = try SearchQuery.parse("needle")
        let first = try reader.search(query, session: nil, limit: 3, cursor: nil)
        // Retention kept the last five records: 4...8.
        #expect(first.results.count == 3)
        #expect(first.results.allSatisfy { $0.seq >= 4 && $0.sessionName == "alpha" && $0.kind == "assistant" })
        let second = try reader.search(query, session: a, limit: 3, cursor: first.next)
        #expect(second.results.count == 2 && second.next == nil)
        #expect(Set((first.results + second.results).map(\.seq)) == Set(4...8))
        store.delete(a)
        store.flush()
        #expect(try reader.search(query, session: nil, limit: 10, cursor: nil).results.isEmpty)
    }
}
