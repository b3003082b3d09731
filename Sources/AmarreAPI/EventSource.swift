public import AmarreCore
public import AmarreStore
import Foundation
import Synchronization

/// Where `GET /sessions/<id>/events` reads history from.
public protocol EventSource: Sendable {
    /// One page as a JSON array text of stored records.
    func eventsJSON(_ session: SessionID, query: EventsQuery) throws -> [UInt8]
    /// One page of ranked search results.
    func search(_ parameters: SearchParameters) throws -> SearchPage
}

/// Reads the host's store, opened on first use (the host creates the database, and may
/// start after the API).
public final class StoreEventSource: EventSource {
    private let path: String
    private let reader = Mutex<RecordReader?>(nil)

    public init(path: String) { self.path = path }

    public func eventsJSON(_ session: SessionID, query: EventsQuery) throws -> [UInt8] {
        try openReader().eventsJSON(session, after: query.after, before: query.before, limit: query.limit)
    }

    public func search(_ parameters: SearchParameters) throws -> SearchPage {
        try openReader().search(parameters.query, session: parameters.session, limit: parameters.limit, cursor: parameters.cursor)
    }

    private func openReader() throws -> RecordReader {
        try reader.withLock { r -> RecordReader in
            if let r { return r }
            guard FileManager.default.fileExists(atPath: path) else {
                throw AmarreError(.hostUnavailable, detail: "the store does not exist yet")
            }
            let opened = try RecordReader(path: path)
            r = opened
            return opened
        }
    }
}
