import AmarreCore
import Foundation
import GRDB

/// What the full-text index holds of a record: who said it (`kind`) and the words.
///
/// Only complete records are indexed (`message_end`, `tool_execution_start`,
/// `tool_execution_end`), never the streamed deltas that precede them, so every text is
/// found once.
enum SearchText {
    /// Record types that can hold searchable text; the relay marks them for the writer.
    static let indexedTypes: Set<String> = ["message_end", "tool_execution_start", "tool_execution_end"]
    /// Characters of one text indexed at most (a huge tool output is indexed by its head).
    static let maxCharacters = 64 << 10

    struct Entry: Equatable {
        var kind: String
        var text: String
    }

    static func entries(_ record: [UInt8]) -> [Entry] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(record))) as? [String: Any],
            let type = object["type"] as? String
        else { return [] }
        var out: [Entry] = []
        func add(_ kind: String, _ text: String) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { return }
            out.append(Entry(kind: kind, text: trimmed.count > maxCharacters ? String(trimmed.prefix(maxCharacters)) : trimmed))
        }
        switch type {
        case "message_end":
            guard let message = object["message"] as? [String: Any], let role = message["role"] as? String else { break }
            switch role {
            case "user":
                add("user", texts(message["content"], part: "text").joined(separator: "\n"))
            case "assistant":
                add("assistant", texts(message["content"], part: "text").joined(separator: "\n"))
                add("thinking", texts(message["content"], part: "thinking").joined(separator: "\n"))
            default:
                break
            }
        case "tool_execution_start":
            let name = object["toolName"] as? String ?? ""
            add("tool_call", name + " " + plain(object["args"]))
        case "tool_execution_end":
            let result = object["result"]
            let parts = texts((result as? [String: Any])?["content"] ?? result, part: "text")
            add("tool_output", parts.isEmpty ? plain(result) : parts.joined(separator: "\n"))
        default:
            break
        }
        return out
    }

    /// The `part` texts of a pi content value: a string, or an array of `{type, text|thinking}`.
    static func texts(_ content: Any?, part: String) -> [String] {
        if let s = content as? String { return part == "text" ? [s] : [] }
        guard let array = content as? [Any] else { return [] }
        return array.compactMap { item in
            guard let block = item as? [String: Any], block["type"] as? String == part else { return nil }
            return block[part] as? String ?? block["text"] as? String
        }
    }

    /// Strings and numbers of a JSON value, in order: the words of a tool's arguments.
    static func plain(_ value: Any?) -> String {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case let a as [Any]: return a.map(plain).filter { !$0.isEmpty }.joined(separator: " ")
        case let d as [String: Any]:
            return d.keys.sorted().map { key in plain(d[key]) }.filter { !$0.isEmpty }.joined(separator: " ")
        default: return ""
        }
    }

    /// Indexes records (the writer, inside its transaction).
    static func index(_ db: Database, _ records: [(SessionID, Int64, [UInt8])], time: Int64) throws {
        guard !records.isEmpty else { return }
        let doc = try db.cachedStatement(sql: "INSERT INTO search_doc (session_id, seq, kind, time) VALUES (?, ?, ?, ?)")
        let text = try db.cachedStatement(sql: "INSERT INTO search (rowid, text) VALUES (?, ?)")
        for (session, seq, record) in records {
            for entry in entries(record) {
                try doc.execute(arguments: [session.rawValue, seq, entry.kind, time])
                try text.execute(arguments: [db.lastInsertedRowID, entry.text])
            }
        }
    }

    /// Removes what is indexed of `session` below `seq` (retention), or all of it.
    static func remove(_ db: Database, session: SessionID, below seq: Int64 = .max) throws {
        try db.execute(
            sql: "DELETE FROM search WHERE rowid IN (SELECT id FROM search_doc WHERE session_id = ? AND seq < ?)",
            arguments: [session.rawValue, seq])
        try db.execute(sql: "DELETE FROM search_doc WHERE session_id = ? AND seq < ?", arguments: [session.rawValue, seq])
    }
}

/// A search as the user typed it, turned into an FTS5 expression that holds nothing but quoted
/// terms: words (all must match), "exact phrases" and prefix* terms. FTS5's own operators
/// (AND, OR, NOT, NEAR, column filters, ^) are plain words here, so no input reaches FTS5 as syntax.
public struct SearchQuery: Sendable, Equatable {
    public static let maxCharacters = 1000
    public static let maxTerms = 32
    /// Characters a prefix needs before its `*`.
    public static let minPrefixCharacters = 2

    public enum Term: Sendable, Equatable {
        case word(String)
        case phrase(String)
        case prefix(String)
    }

    public var terms: [Term]

    public init(terms: [Term]) {
        self.terms = terms
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws(Invalid) -> SearchQuery {
        func bad(_ why: String) -> Invalid { Invalid(description: why) }
        guard text.count <= maxCharacters else { throw bad("the query is longer than \(maxCharacters) characters") }
        // A pasted query may span lines: line breaks and tabs separate words like spaces.
        let text = String(text.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : Character($0) })
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw bad("the query has control characters")
        }
        var terms: [Term] = []
        var chars = Substring(text)
        while let c = chars.first {
            if c.isWhitespace {
                chars.removeFirst()
                continue
            }
            if c == "\"" {
                chars.removeFirst()
                guard let close = chars.firstIndex(of: "\"") else { throw bad("a phrase is missing its closing quote") }
                let phrase = String(chars[..<close])
                chars = chars[chars.index(after: close)...]
                if Self.hasWords(phrase) { terms.append(.phrase(phrase)) }
                continue
            }
            let end = chars.firstIndex { $0.isWhitespace || $0 == "\"" } ?? chars.endIndex
            var word = String(chars[..<end])
            chars = chars[end...]
            if word.hasSuffix("*") {
                word.removeLast()
                guard !word.contains("*") else { throw bad("* is allowed only at the end of a word") }
                guard word.count >= minPrefixCharacters, Self.hasWords(word) else {
                    throw bad("a prefix needs at least \(minPrefixCharacters) letters before *")
                }
                terms.append(.prefix(word))
            } else {
                guard !word.contains("*") else { throw bad("* is allowed only at the end of a word") }
                if Self.hasWords(word) { terms.append(.word(word)) }
            }
        }
        guard !terms.isEmpty else { throw bad("nothing to search for: give words, \"phrases\" or prefix*") }
        guard terms.count <= maxTerms else { throw bad("more than \(maxTerms) terms") }
        return SearchQuery(terms: terms)
    }

    /// The FTS5 expression: every term a quoted string (quotes doubled), prefixes starred.
    public var fts5: String {
        terms.map { term in
            switch term {
            case .word(let w): Self.quote(w)
            case .phrase(let p): Self.quote(p)
            case .prefix(let p): Self.quote(p) + "*"
            }
        }.joined(separator: " ")
    }

    static func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Whether the tokenizer will find a word in `s` (letters or digits).
    static func hasWords(_ s: String) -> Bool { s.unicodeScalars.contains { CharacterSet.alphanumerics.contains($0) } }
}
