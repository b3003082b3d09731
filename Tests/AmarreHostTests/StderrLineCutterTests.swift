@testable import AmarreHost
import Testing

@Suite("Agent stderr lines for the log")
struct StderrLineCutterTests {
    func lines(_ chunks: [String], max: Int = 8) -> [StderrLineCutter.Line] {
        var cutter = StderrLineCutter(maxLineBytes: max)
        var out: [StderrLineCutter.Line] = []
        for chunk in chunks { cutter.feed(Array(chunk.utf8)) { out.append($0) } }
        cutter.finish { out.append($0) }
        return out
    }

    @Test("lines split across reads are joined; CR and empty lines dropped; the last line without a newline kept")
    func split() {
        #expect(lines(["ab", "c\r\n\nde", "f"]) == [.init(text: "abc", cutBytes: 0), .init(text: "def", cutBytes: 0)])
    }

    @Test("a long line keeps its head and says how much was cut, however many reads it spans")
    func cut() {
        #expect(lines(["0123456789", "abcdef\nok\n"]) == [.init(text: "01234567", cutBytes: 8), .init(text: "ok", cutBytes: 0)])
    }
}
