import Dispatch

/// A very short-lived copy of the host's session list for `GET /sessions`.
///
/// A list refreshed live by several devices is asked for far more often than it changes;
/// serving it for `ttlMs` saves the host exchange. Changes made through this API (create,
/// delete, restart) clear it at once, so a client sees its own changes immediately; changes
/// the host makes on its own (a crash, a client attaching, new records) show within `ttlMs`.
/// `ttlMs` 0 turns it off.
public final class SessionListCache: Sendable {
    private struct Entry {
        var bytes: [UInt8]
        var fetchedAt: UInt64
        var generation: UInt64
    }

    private let ttlNanoseconds: UInt64
    private let state = ReadMostly<(entry: Entry?, generation: UInt64)>((nil, 0))

    public init(ttlMs: Int) {
        ttlNanoseconds = UInt64(max(0, ttlMs)) * 1_000_000
    }

    /// The cached list, or the one `fetch` returns (then kept unless a change came meanwhile).
    public func list(fetch: () throws(APIError) -> [UInt8]) throws(APIError) -> [UInt8] {
        guard ttlNanoseconds > 0 else { return try fetch() }
        let now = DispatchTime.now().uptimeNanoseconds
        let (cached, generation) = state.read { s -> ([UInt8]?, UInt64) in
            if let e = s.entry, e.generation == s.generation, now &- e.fetchedAt < ttlNanoseconds { return (e.bytes, s.generation) }
            return (nil, s.generation)
        }
        if let cached { return cached }
        let fresh = try fetch()
        state.write { s in
            // A change that happened during the fetch makes this answer too old to keep.
            if s.generation == generation { s.entry = Entry(bytes: fresh, fetchedAt: now, generation: generation) }
        }
        return fresh
    }

    /// A change went through this API: the next list comes from the host.
    public func invalidate() {
        state.write { s in
            s.generation &+= 1
            s.entry = nil
        }
    }
}
