public import AmarreCore
import Foundation
import GRDB

/// Read-only access for amarre-api: history pages straight from the store, so a long
/// transcript is never loaded whole and never passes through the host.
public final class RecordReader: Sendable {
    let pool: DatabasePool

    /// Largest page `events` returns.
    public static let maxPageSize = 1000
    /// Most record bytes in one page (a page holds at least one record, whatever its size):
    /// 1000 records of 16 MiB would otherwise be 16 GB in one answer. The client pages on
    /// from the last `_seq` it got, as it does past `limit`.
    public static let maxPageBytes = 4 << 20

    public init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.label = "amarre.store.reader"
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
    }

    /// Records of `session` with `seq > after` (ascending), or the last `limit` with
    /// `seq < before` (still ascending), as one JSON array text.
    public func eventsJSON(_ session: SessionID, after: Int64?, before: Int64?, limit: Int) throws -> [UInt8] {
        let limit = max(1, min(limit, RecordReader.maxPageSize))
        let rows: [[UInt8]] = try pool.read { db in
            if let before {
                return try RecordStore.backward(db, session, before: before, limit: limit, maxBytes: RecordReader.maxPageBytes)
                    .map(\.bytes)
            }
            return try RecordStore.forward(
                db, session, after: after ?? 0, upTo: .max, limit: limit, maxBytes: RecordReader.maxPageBytes
            ).map(\.bytes)
        }
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(rows.reduce(2) { $0 + $1.count + 1 })
        for (i, row) in rows.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: row)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }
}
