public import AmarreCore
import Foundation
import GRDB

/// One page of search results, ready for `GET /search`.
public struct SearchPage: Sendable, Equatable, Encodable {
    public struct Result: Sendable, Equatable, Encodable {
        public var sessionId: String
        public var sessionName: String?
        public var seq: Int64
        public var kind: String
        public var time: Int64
        public var snippet: Snippet

        enum CodingKeys: String, CodingKey { case sessionId, sessionName, seq, kind, time, snippet }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(sessionId, forKey: .sessionId)
            try c.encode(sessionName, forKey: .sessionName)  // null for an unnamed session
            try c.encode(seq, forKey: .seq)
            try c.encode(kind, forKey: .kind)
            try c.encode(time, forKey: .time)
            try c.encode(snippet, forKey: .snippet)
        }
    }

    public struct Snippet: Sendable, Equatable, Encodable {
        public var text: String
        /// [start, end) in UTF-16 code units of `text`.
        public var matches: [[Int]]
    }

    public var results: [Result]
    /// The cursor of the next page; nil at the end.
    public var next: String?

    enum CodingKeys: String, CodingKey { case results, next }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(results, forKey: .results)
        try c.encode(next, forKey: .next)  // null at the end, as the protocol says
    }
}

extension RecordReader {
    /// Largest page.
    public static let maxSearchResults = 100
    /// Characters of text around the first match in a snippet.
    static let snippetCharacters = 240
    /// Markers `highlight()` puts around matched terms (control characters never indexed as words).
    private static let open: Character = "\u{2}"
    private static let close: Character = "\u{3}"

    /// Ranked matches of `query` (best first), across every session or in `session`;
    /// `cursor` is the `next` of the previous page.
    public func search(_ query: SearchQuery, session: SessionID?, limit: Int, cursor: String?) throws -> SearchPage {
        let limit = max(1, min(limit, Self.maxSearchResults))
        let offset = cursor.flatMap { Int($0) }.map { max(0, $0) } ?? 0
        return try pool.read { db in
            // Ranks first (only ids), then the highlighted text of the page's rows alone.
            var sql = "SELECT search.rowid AS id FROM search"
            var arguments: StatementArguments = []
            if let session {
                sql += " JOIN search_doc d ON d.id = search.rowid WHERE search MATCH ? AND d.session_id = ?"
                arguments = [query.fts5, session.rawValue]
            } else {
                sql += " WHERE search MATCH ?"
                arguments = [query.fts5]
            }
            sql += " ORDER BY rank LIMIT ? OFFSET ?"
            arguments += [limit + 1, offset]
            var ids = try Int64.fetchAll(db, sql: sql, arguments: arguments)
            let more = ids.count > limit
            if more { ids.removeLast() }
            let row = try db.cachedStatement(
                sql: """
                    SELECT d.session_id, d.seq, d.kind, d.time, s.name,
                           highlight(search, 0, char(2), char(3)) AS marked
                    FROM search JOIN search_doc d ON d.id = search.rowid LEFT JOIN session s ON s.id = d.session_id
                    WHERE search MATCH ? AND search.rowid = ?
                    """)
            var results: [SearchPage.Result] = []
            for id in ids {
                guard let r = try Row.fetchOne(row, arguments: [query.fts5, id]) else { continue }
                results.append(
                    SearchPage.Result(
                        sessionId: r["session_id"], sessionName: r["name"], seq: r["seq"], kind: r["kind"], time: r["time"],
                        snippet: Self.snippet(r["marked"])))
            }
            return SearchPage(results: results, next: more ? String(offset + limit) : nil)
        }
    }

    /// About `snippetCharacters` of `marked` around its first match, markers turned into offsets.
    static func snippet(_ marked: String) -> SearchPage.Snippet {
        // Plain text and match ranges in Characters first.
        var plain: [Character] = []
        var ranges: [(Int, Int)] = []
        var start: Int?
        for c in marked {
            if c == open {
                start = plain.count
            } else if c == close {
                if let s = start, s < plain.count { ranges.append((s, plain.count)) }
                start = nil
            } else {
                plain.append(c)
            }
        }
        // The window: a little before the first match, up to the snippet's length.
        let first = ranges.first?.0 ?? 0
        var lower = max(0, first - snippetCharacters / 4)
        let upper = min(plain.count, lower + snippetCharacters)
        lower = max(0, min(lower, upper - snippetCharacters))
        // Cut at white space where there is some near the edges.
        var from = lower
        if from > 0, let space = plain[from..<min(first, from + 20)].firstIndex(where: { $0.isWhitespace }) { from = space + 1 }
        var to = upper
        if to < plain.count, let space = plain[max(from, to - 20)..<to].lastIndex(where: { $0.isWhitespace }),
            space > ranges.first.map({ $0.1 }) ?? from
        {
            to = space
        }
        let prefix = from > 0 ? "…" : ""
        let suffix = to < plain.count ? "…" : ""
        var text = prefix
        var utf16 = prefix.utf16.count
        var offsets: [Int: Int] = [:]  // Character index -> UTF-16 offset in text
        for i in from..<to {
            offsets[i] = utf16
            let s = String(plain[i])
            text += s
            utf16 += s.utf16.count
        }
        offsets[to] = utf16
        text += suffix
        let matches = ranges.compactMap { r -> [Int]? in
            guard r.0 >= from, r.1 <= to, let a = offsets[r.0], let b = offsets[r.1] else { return nil }
            return [a, b]
        }
        return SearchPage.Snippet(text: text, matches: matches)
    }
}
