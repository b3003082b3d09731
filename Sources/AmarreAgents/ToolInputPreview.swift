import AmarreJSON
/// What a permission question shows of a tool call's input: the part a person needs to decide,
/// in a few readable lines, never longer than `limit` characters.
///
/// The command for a shell tool, the path (and the change) for file tools, the URL or query for
/// web tools, the plan for ExitPlanMode; compact JSON for anything else. Works on claude's tool
/// inputs (`file_path`, `old_string`) and pi's (`path`, `oldText`) alike; the pi gate extension
/// (`Resources/amarre-permission-gate.ts`) renders the same way.
enum ToolInputPreview {
    /// Characters (grapheme clusters) at most, the ellipsis included.
    static let limit = 400

    static func text(for input: JSONValue) -> String {
        bounded(readable(input) ?? input.jsonText)
    }

    /// `text` cut to `limit` characters, ending with "…" when something was cut.
    static func bounded(_ text: String, limit: Int = ToolInputPreview.limit) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    private static func readable(_ input: JSONValue) -> String? {
        guard input.isObject else { return nil }
        func string(_ key: String) -> String? {
            guard let s = input[key]?.stringValue, !s.isEmpty else { return nil }
            return s
        }
        if let command = string("command") {
            return [command, string("description").map { "# \($0)" }].compactMap { $0 }.joined(separator: "\n")
        }
        if let plan = string("plan") { return plan }
        if let path = string("file_path") ?? string("notebook_path") ?? string("path") {
            if let pattern = string("pattern") { return "\(pattern)\nin \(path)" }
            return ([path] + change(in: input)).joined(separator: "\n")
        }
        if let url = string("url") {
            return [url, string("prompt")].compactMap { $0 }.joined(separator: "\n")
        }
        if let first = string("query") ?? string("pattern") ?? string("description") ?? string("prompt") {
            return first
        }
        return nil
    }

    /// The lines describing what a file tool changes: removed and added text, or new content.
    private static func change(in input: JSONValue) -> [String] {
        func string(_ value: JSONValue?, _ keys: String...) -> String? {
            for key in keys {
                if let s = value?[key]?.stringValue { return s }
            }
            return nil
        }
        var lines: [String] = []
        var edits: [JSONValue] = [input]
        if let list = input["edits"]?.arrayValue { edits += list }
        for edit in edits {
            if let old = string(edit, "old_string", "oldText") { lines.append("- " + old) }
            if let new = string(edit, "new_string", "newText") { lines.append("+ " + new) }
        }
        if let content = string(input, "content", "new_source") { lines.append(content) }
        return lines
    }
}
