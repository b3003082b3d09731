/// Paging of `GET /sessions/<id>/events`: `after=N` (records with `_seq > N`, oldest first)
/// or `before=N` (the newest `limit` records with `_seq < N`, still oldest first), and
/// `limit` (default 100, at most `RecordReader.maxPageSize`).
public struct EventsQuery: Sendable, Equatable {
    public var after: Int64?
    public var before: Int64?
    public var limit: Int

    public static let defaultLimit = 100

    public init(after: Int64? = nil, before: Int64? = nil, limit: Int = EventsQuery.defaultLimit) {
        self.after = after
        self.before = before
        self.limit = limit
    }

    /// Parses `QUERY_STRING`; unknown parameters are ignored, wrong values are errors.
    public static func parse(_ query: String) -> Result<EventsQuery, QueryError> {
        var q = EventsQuery()
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = QueryString.decode(kv[0]) ?? String(kv[0])
            let value = kv.count > 1 ? QueryString.decode(kv[1]) ?? String(kv[1]) : ""
            switch key {
            case "after", "before":
                guard let n = Int64(value), n >= 0 else { return .failure(QueryError(detail: "\"\(key)\" must be a non-negative integer")) }
                if key == "after" { q.after = n } else { q.before = n }
            case "limit":
                guard let n = Int(value), n > 0 else { return .failure(QueryError(detail: "\"limit\" must be a positive integer")) }
                q.limit = n
            default:
                continue
            }
        }
        if q.after != nil, q.before != nil { return .failure(QueryError(detail: "use either \"after\" or \"before\"")) }
        return .success(q)
    }
}

/// A query parameter with a wrong value; `detail` says which.
public struct QueryError: Error, Sendable, Equatable {
    public var detail: String
}
