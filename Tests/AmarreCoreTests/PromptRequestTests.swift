import AmarreCore
import Foundation
import Testing

@Suite("REST for scripts: prompts, answers, base path, version")
struct PromptRequestTests {
    @Test("a prompt body becomes the pi command line a WebSocket client would send")
    func line() throws {
        let body = #"{"message":"look \"here\"","images":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"}],"mode":"steer"}"#
        let prompt = try PromptRequest.parse(body: Array(body.utf8))
        #expect(prompt.mode == .steer)
        #expect(prompt.line == #"{"type":"steer","message":"look \"here\"","images":[{"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png"}]}"#)
        #expect(try PromptRequest.parse(body: Array(#"{"message":"hi"}"#.utf8)).line == #"{"type":"prompt","message":"hi"}"#)
        // The command's id, when given (amarre-api gives one to every REST prompt), comes first.
        #expect(try PromptRequest.parse(body: Array(#"{"message":"hi","id":"r-1"}"#.utf8)).line == #"{"id":"r-1","type":"prompt","message":"hi"}"#)
        #expect(try PromptRequest.parse(body: Array(#"{"message":"hi","mode":"follow_up"}"#.utf8)).mode == .followUp)
    }

    @Test(
        "bad prompt bodies are bad_request",
        arguments: [
            "", "[]", #"{"images":[]}"#, #"{"message":3}"#, #"{"message":"x","mode":"later"}"#,
            #"{"message":"x","images":[{"type":"image","data":"abc$","mimeType":"image/png"}]}"#,
            #"{"message":"x","images":[{"type":"image","data":"QUJD","mimeType":"image/svg+xml"}]}"#,
            #"{"message":"x","images":[{"type":"file","data":"QUJD","mimeType":"image/png"}]}"#,
            #"{"message":"x","images":{}}"#,
        ])
    func badBodies(body: String) {
        #expect(throws: AmarreError.self) { try PromptRequest.parse(body: Array(body.utf8)) }
    }

    @Test("images are limited in number and size")
    func imageLimits() throws {
        let image = #"{"type":"image","data":"QUJD","mimeType":"image/png"}"#
        let many = #"{"message":"x","images":["# + Array(repeating: image, count: PromptRequest.maxImages + 1).joined(separator: ",") + "]}"
        #expect(throws: AmarreError.self) { try PromptRequest.parse(body: Array(many.utf8)) }
        let big = String(repeating: "A", count: PromptRequest.maxImageBytes + 4)
        let large = #"{"message":"x","images":[{"type":"image","data":"\#(big)","mimeType":"image/png"}]}"#
        #expect(throws: AmarreError.self) { try PromptRequest.parse(body: Array(large.utf8)) }
        // Each under its own limit, too many together.
        let four = String(repeating: "A", count: 4 << 20)
        let image4 = #"{"type":"image","data":"\#(four)","mimeType":"image/png"}"#
        let three = #"{"message":"x","images":[\#(image4),\#(image4),\#(image4)]}"#
        #expect(throws: AmarreError.self) { try PromptRequest.parse(body: Array(three.utf8)) }
        let two = #"{"message":"x","images":[\#(image4),\#(image4)]}"#
        #expect(try PromptRequest.parse(body: Array(two.utf8)).images.count == 2)
    }

    @Test("base64 sizes", arguments: [("QUJD", 3), ("QUI=", 2), ("QQ==", 1), ("QUI", 2), ("Q", nil), ("Q===", nil), ("QU=I", nil), ("", nil)] as [(String, Int?)])
    func base64(text: String, size: Int?) {
        #expect(Base64Text.decodedCount(text) == size)
    }

    @Test("an answer may allow for the session: {confirmed:true, scope:session}")
    func answerScope() throws {
        #expect(try RequestAnswer.parse(body: Array(#"{"confirmed":true,"scope":"session"}"#.utf8)) == .allowedForSession)
        #expect(RequestAnswer.allowedForSession.jsonMembers == #""confirmed":true,"scope":"session""#)
        for bad in [#"{"confirmed":false,"scope":"session"}"#, #"{"confirmed":true,"scope":"forever"}"#, #"{"value":"x","scope":"session"}"#] {
            #expect(throws: AmarreError.self) { try RequestAnswer.parse(body: Array(bad.utf8)) }
        }
    }

    @Test("the new control messages survive the control protocol")
    func controlRoundTrip() throws {
        let id = try #require(SessionID("0123456789ab"))
        for request in [
            ControlRequest.sendPrompt(session: id, prompt: PromptRequest(message: "hi", images: [PromptImage(data: "QUJD", mimeType: "image/png")])),
            .abortRun(session: id), .openRequests(session: id), .metrics,
            .traced(requestId: "abc-1", request: .abortRun(session: id)),
        ] {
            let line = try ControlProtocol.encode(request)
            #expect(try ControlProtocol.decode(ControlRequest.self, from: line.dropLast()) == request)
        }
        for response in [ControlResponse.accepted(afterSeq: 41), .requests(records: [#"{"_seq":3}"#]), .metricsText("a 1\n")] {
            let line = try ControlProtocol.encode(response)
            #expect(try ControlProtocol.decode(ControlResponse.self, from: line.dropLast()) == response)
        }
    }

    @Test(
        "AMARRE_BASE_PATH is normalised to /x/ or refused",
        arguments: [
            ("/", "/"), ("amarre", "/amarre/"), ("/amarre", "/amarre/"), ("/a/b/", "/a/b/"), ("/a b/", nil),
            ("/a/../b", nil), ("/a//b", "/a/b/"), ("/a?x", nil), ("/%2e/", nil),
        ] as [(String, String?)])
    func basePath(text: String, expected: String?) {
        #expect(AmarreConfiguration.normaliseBasePath(text) == expected)
        let result = Result { try AmarreConfiguration.fromEnvironment(["HOME": "/h", "AMARRE_BASE_PATH": text]) }
        #expect((try? result.get())?.basePath == expected)
    }

    @Test("AMARRE_LOG_FORMAT is text, logfmt or json")
    func logFormat() throws {
        #expect(throws: ConfigurationError.self) { try AmarreConfiguration.fromEnvironment(["HOME": "/h", "AMARRE_LOG_FORMAT": "xml"]) }
        _ = try AmarreConfiguration.fromEnvironment(["HOME": "/h", "AMARRE_LOG_FORMAT": "json"])
    }

    @Test("--help, --version, and anything else a usage error")
    func commandLine() {
        #expect(CommandLineInfo.outcome(arguments: [], name: "x", usage: "U") == .run)
        #expect(CommandLineInfo.outcome(arguments: ["--help"], name: "x", usage: "U") == .print("U", exitCode: 0))
        guard case .print(let version, 0) = CommandLineInfo.outcome(arguments: ["--version"], name: "x", usage: "U") else {
            Issue.record("no version")
            return
        }
        #expect(version.hasPrefix("x \(AmarreVersion.release) "))
        guard case .print(_, 2) = CommandLineInfo.outcome(arguments: ["--port"], name: "x", usage: "U") else {
            Issue.record("a bad argument is not a usage error")
            return
        }
    }

    @Test("the release in the code is the repository's VERSION file")
    func versionFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("VERSION"), encoding: .utf8)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == AmarreVersion.release)
    }
}
