public import AmarreCore
public import AmarreStore

/// `GET /search?q=…&session=<id>&limit=N&before=<cursor>`, decoded and checked.
public struct SearchParameters: Sendable, Equatable {
    public var query: SearchQuery
    public var session: SessionID?
    public var limit: Int
    public var cursor: String?

    public static let defaultLimit = 20

    public init(query: SearchQuery, session: SessionID? = nil, limit: Int = SearchParameters.defaultLimit, cursor: String? = nil) {
        self.query = query
        self.session = session
        self.limit = limit
        self.cursor = cursor
    }

    /// 400 `bad_query` (the query's own syntax) or `bad_request` (the other parameters).
    public enum Failure: Error, Equatable {
        case badQuery(String)
        case badRequest(String)
    }

    public static func parse(_ queryString: String) -> Result<SearchParameters, Failure> {
        var q: String?
        var session: SessionID?
        var limit = defaultLimit
        var cursor: String?
        for pair in queryString.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = QueryString.decode(kv[0]), let value = QueryString.decode(kv.count > 1 ? kv[1] : "") else {
                return .failure(.badRequest("the query string is not valid percent-encoded UTF-8"))
            }
            switch key {
            case "q": q = value
            case "session":
                guard let id = SessionID(value) else { return .failure(.badRequest("\"session\" must be a session id")) }
                session = id
            case "limit":
                guard let n = Int(value), (1...RecordReader.maxSearchResults).contains(n) else {
                    return .failure(.badRequest("\"limit\" must be 1 to \(RecordReader.maxSearchResults)"))
                }
                limit = n
            case "before":
                guard let n = Int(value), n >= 0 else { return .failure(.badRequest("\"before\" must be a cursor from \"next\"")) }
                cursor = String(n)
            default:
                continue
            }
        }
        guard let q else { return .failure(.badQuery("\"q\" is missing")) }
        do {
            return .success(SearchParameters(query: try SearchQuery.parse(q), session: session, limit: limit, cursor: cursor))
        } catch {
            return .failure(.badQuery(error.description))
        }
    }
}

/// `application/x-www-form-urlencoded` values: `+` is a space, `%XX` a byte; the bytes must
/// be UTF-8.
enum QueryString {
    static func decode(_ text: some StringProtocol) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard utf8.count >= 2, let hi = hex(utf8.popFirst()!), let lo = hex(utf8.popFirst()!) else { return nil }
                bytes.append(hi << 4 | lo)
            default: bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
