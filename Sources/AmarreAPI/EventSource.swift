public import AmarreCore
import AmarreStore
import Foundation
import Synchronization

/// Where `GET /sessions/<id>/events` reads history from.
public protocol EventSource: Sendable {
    /// One page as a JSON array text of stored records.
    func eventsJSON(_ session: SessionID, query: EventsQuery) throws -> [UInt8]
}

/// Reads the host's store, opened on first use (the host creates the database, and may
/// start after the API).
public final class StoreEventSource: EventSource {
    private let path: String
    private let reader = Mutex<RecordReader?>(nil)

    public init(path: String) { self.path = path }

    public func eventsJSON(_ session: SessionID, query: EventsQuery) throws -> [UInt8] {
        let r = try reader.withLock { r -> RecordReader in
            if let r { return r }
            guard FileManager.default.fileExists(atPath: path) else {
                throw AmarreError(.hostUnavailable, detail: "the store does not exist yet")
            }
            let opened = try RecordReader(path: path)
            r = opened
            return opened
        }
        return try r.eventsJSON(session, after: query.after, before: query.before, limit: query.limit)
    }
}
