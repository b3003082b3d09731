import AmarreLogging
import Foundation
import Logging
import Synchronization
import Testing

@Suite("The log handler")
struct AmarreLogHandlerTests {
    @Test("control characters are escaped, so a logged value cannot forge a line or drive a terminal")
    func escaping() {
        #expect(AmarreLogHandler.escape("plain text é") == "plain text é")
        #expect(AmarreLogHandler.escape("a\nb\rc\td") == "a\\nb\\rc\\td")
        #expect(AmarreLogHandler.escape("\u{1B}[31mred") == "\\x1b[31mred")
        #expect(AmarreLogHandler.escape("\u{7F}\u{85}\u{2028}") == "\\x7f\\u{85}\\u{2028}")
    }

    @Test("one line per event, with escaped metadata and message")
    func oneLine() {
        let lines = Mutex<[String]>([])
        let logger = Logger(label: "amarre.test") { label in
            AmarreLogHandler(label: label, level: .info) { line in lines.withLock { $0.append(line) } }
        }
        logger.notice("agent stderr", metadata: ["line": "fake\n2026-01-01 error amarre.host : forged"])
        logger.debug("not logged at info")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written[0].hasSuffix(" notice amarre.test : line=fake\\n2026-01-01 error amarre.host : forged agent stderr\n"))
        #expect(written[0].filter { $0 == "\n" }.count == 1)
    }

    @Test("logfmt and json: one line per event, values quoted or escaped, nothing forged")
    func structured() throws {
        let lines = Mutex<[String]>([])
        for format in [AmarreLogHandler.Format.logfmt, .json] {
            let logger = Logger(label: "amarre.test") { label in
                AmarreLogHandler(label: label, level: .info, format: format) { line in lines.withLock { $0.append(line) } }
            }
            logger.info("said \"hi\"\nthere", metadata: ["request.id": "abc", "line": "a b=c"])
        }
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        #expect(written.allSatisfy { $0.filter { $0 == "\n" }.count == 1 })
        #expect(written[0].contains(#" level=info logger=amarre.test msg="said \"hi\"\nthere" line="a b=c" request.id=abc"#))
        #expect(written[0].hasPrefix("time="))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: String])
        #expect(object["msg"] == "said \"hi\"\nthere")
        #expect(object["request.id"] == "abc")
        #expect(object["level"] == "info")
        #expect(object["logger"] == "amarre.test")
    }
}
