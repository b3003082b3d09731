import AmarreAgents
import AmarreJSON

/// Everything the demo assistant "says", as pure functions of the prompt: the same prompt always
/// gets the same reply, tool call and canned tool output.
enum DemoScript {
    /// Words (whole, case-insensitive) that make the assistant call `bash`.
    static let bashWords: Set<String> = ["run", "execute", "delete", "ls", "rm", "bash"]
    /// Words that make it call `edit`, when none of `bashWords` is present.
    static let editWords: Set<String> = ["edit", "write", "create"]

    /// How much of the prompt the reply quotes back.
    static let quoteLimit = 500

    // MARK: Replies

    /// The markdown answer to a prompt that needs no tool: an echo, a paragraph, a list and a code block.
    static func reply(to prompt: String) -> String {
        let words = prompt.split(whereSeparator: \.isWhitespace).count
        let lines = prompt.isEmpty ? 0 : prompt.split(separator: "\n", omittingEmptySubsequences: false).count
        let stats: JSONValue = ["characters": .int(prompt.count), "words": .int(words), "lines": .int(lines)]
        return """
            You said:

            \(quote(prompt))

            I'm the **amarre demo agent**. I speak pi's RPC protocol but never call a model, so the \
            same message always gets the same answer: a safe way to try the relay and the web client.

            Things to try:

            - Ask me to **run**, **edit** or **create** something: I will ask permission for a tool call.
            - Send a *steer* or *follow-up* while I'm typing to queue another turn, or *abort* to stop me.
            - `/flood 500`, `/big 20000000`, `/stderr` and `/crash` exercise the relay itself.

            Your message, measured:

            ```json
            \(stats.jsonText)
            ```
            """
    }

    /// The sentence the assistant streams before its tool call.
    static func leadIn(to call: DemoToolCall) -> String {
        call.name == "bash" ? "Sure, let me run \(call.subject)." : "Sure, I'll edit \(call.subject)."
    }

    /// The answer in the turn after the tool call, once the user allowed or blocked it.
    static func summary(of call: DemoToolCall, allowed: Bool) -> String {
        guard allowed else {
            let verb = call.name == "bash" ? "run" : "edit"
            return """
                Understood: I won't \(verb) \(call.subject), and nothing was changed.

                If you change your mind, ask again and allow the call.
                """
        }
        if call.name == "bash" {
            return """
                \(call.subject) finished. Its output:

                ```text
                \(call.cannedOutput)
                ```

                - Nothing really ran: I'm the demo agent and this output is canned.
                - Deny the next request to see what a blocked tool call looks like.
                """
        }
        return """
            Done: the status section of \(call.subject) now says *reviewed* instead of *draft*.

            - No file was touched: I'm the demo agent and the edit is pretend.
            - Deny the next request to see what a blocked tool call looks like.
            """
    }

    private static func quote(_ prompt: String) -> String {
        var text = String(prompt.prefix(quoteLimit))
        if text.count < prompt.count { text += "…" }
        if text.trimmingWhitespace.isEmpty { text = "*(an empty message)*" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { "> \($0)" }.joined(separator: "\n")
    }

    // MARK: Tool calls

    /// The tool call a prompt asks for, if it contains one of the trigger words.
    static func toolCall(for prompt: String, id: String) -> DemoToolCall? {
        let words = Set(prompt.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
        let path = pathMention(in: prompt)
        if !words.isDisjoint(with: bashWords) {
            let command: String
            let output: String
            if let quoted = backticked(in: prompt) {
                command = quoted
                output = "demo: pretended to run \(quoted)\nnothing was executed; this output is canned."
            } else if words.contains("ls") {
                command = "ls -la"
                output = listing
            } else if words.contains("rm") || words.contains("delete") {
                let target = path ?? "tmp/scratch.txt"
                command = "rm -v \(target)"
                output = "removed '\(target)'"
            } else if words.contains("test") || words.contains("tests") {
                command = "swift test"
                output = testRun
            } else if words.contains("build") {
                command = "swift build"
                output = "Building for debugging...\n[4/4] Linking demo\nBuild complete! (1.84s)"
            } else {
                command = "git status --short"
                output = " M README.md\n?? notes/todo.md"
            }
            return DemoToolCall(
                id: id, name: "bash", arguments: ["command": .string(command)],
                subject: "`\(command)`", cannedOutput: output)
        }
        if !words.isDisjoint(with: editWords) {
            let target = path ?? "README.md"
            return DemoToolCall(
                id: id, name: "edit",
                arguments: [
                    "path": .string(target),
                    "oldText": "## Status\n\nDraft.",
                    "newText": "## Status\n\nReviewed with the amarre demo agent.",
                ],
                subject: "`\(target)`", cannedOutput: "Successfully replaced text in \(target).")
        }
        return nil
    }

    /// A `ls -la` that looks like a small Swift package.
    private static let listing = """
        total 40
        drwxr-xr-x  7 demo demo 4096 Jan  1 12:00 .
        drwxr-xr-x 12 demo demo 4096 Jan  1 12:00 ..
        drwxr-xr-x  8 demo demo 4096 Jan  1 12:00 .git
        -rw-r--r--  1 demo demo  812 Jan  1 12:00 Package.swift
        -rw-r--r--  1 demo demo 2048 Jan  1 12:00 README.md
        drwxr-xr-x  3 demo demo 4096 Jan  1 12:00 Sources
        drwxr-xr-x  3 demo demo 4096 Jan  1 12:00 Tests
        """

    /// A `swift test` run that passes.
    private static let testRun = """
        Building for debugging...
        [6/6] Linking demoPackageTests.xctest
        Test Suite 'All tests' started.
        Test Suite 'GreeterTests' passed.
             Executed 3 tests, with 0 failures (0 unexpected) in 0.012 (0.013) seconds
        ✔ Test run with 3 tests passed after 0.013 seconds.
        """

    /// The first `backticked` span of the prompt, if any.
    private static func backticked(in prompt: String) -> String? {
        let parts = prompt.split(separator: "`", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        let inside = parts[1].trimmingWhitespace
        return inside.isEmpty || inside.contains("\n") ? nil : inside
    }

    /// The first word that looks like a relative file path (`notes.txt`, `src/main.c`).
    private static func pathMention(in prompt: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        for word in prompt.split(whereSeparator: \.isWhitespace) {
            let candidate = word.trimming(",;:!?\"'()`.")
            guard candidate.count > 2, !candidate.hasPrefix("/"), !candidate.hasPrefix("-"),
                  candidate.allSatisfy(allowed.contains),
                  candidate.dropFirst().dropLast().contains(where: { $0 == "." || $0 == "/" })
            else { continue }
            return candidate
        }
        return nil
    }

    // MARK: Streaming

    /// `text` cut into about `count` deltas at word boundaries; joined, they give back `text` exactly.
    static func deltas(of text: String, count: Int) -> [String] {
        var words: [Substring] = []
        var start = text.startIndex
        var sawSpace = false
        for index in text.indices {
            let isSpace = text[index].isWhitespace
            if !isSpace && sawSpace {
                words.append(text[start..<index])
                start = index
            }
            sawSpace = isSpace
        }
        if start < text.endIndex { words.append(text[start...]) }
        guard !words.isEmpty else { return [] }
        let perDelta = (words.count + max(1, count) - 1) / max(1, count)
        return stride(from: 0, to: words.count, by: perDelta).map {
            words[$0..<min($0 + perDelta, words.count)].joined()
        }
    }

    /// The body of `/big`: `bytes` bytes of ASCII in 64-byte lines.
    static func filler(bytes: Int) -> String {
        let line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXY\n"
        let text = String(repeating: line, count: bytes / line.utf8.count + 1)
        return String(decoding: text.utf8.prefix(bytes), as: UTF8.self)
    }
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    fileprivate func trimming(_ set: String) -> String {
        String(drop(while: set.contains).reversed().drop(while: set.contains).reversed())
    }
}
