import Foundation

/// Consecutive records of one session as one stored row: their JSON texts joined by `\n`.
///
/// A record never holds a raw newline (records are lines; JSON escapes newlines in strings),
/// so the join is unambiguous.
enum Chunk {
    /// Records per chunk at most.
    static let maxRecords = 256
    /// Bytes per chunk at most (a single larger record still gets a chunk of its own).
    static let maxBytes = 256 << 10

    /// Groups `records` (in publication order) into chunks of consecutive sequence numbers
    /// per session.
    static func build(_ records: [(SessionID, Int64, [UInt8])]) -> [(session: SessionID, first: Int64, last: Int64, data: Data)] {
        var open: [SessionID: (first: Int64, last: Int64, count: Int, data: Data)] = [:]
        var out: [(session: SessionID, first: Int64, last: Int64, data: Data)] = []
        func close(_ id: SessionID) {
            guard let c = open.removeValue(forKey: id) else { return }
            out.append((id, c.first, c.last, c.data))
        }
        for (id, seq, record) in records {
            if let c = open[id],
               c.last + 1 != seq || c.count >= maxRecords || c.data.count + record.count + 1 > maxBytes
            {
                close(id)
            }
            if var c = open[id] {
                c.data.append(0x0A)
                c.data.append(contentsOf: record)
                c.last = seq
                c.count += 1
                open[id] = c
            } else {
                var data = Data()
                data.reserveCapacity(min(maxBytes, max(record.count, 4096)))
                data.append(contentsOf: record)
                open[id] = (seq, seq, 1, data)
            }
        }
        for id in Array(open.keys) { close(id) }
        return out
    }

    /// The records of a stored chunk with their sequence numbers, in order.
    static func records(first: Int64, data: Data) -> [(seq: Int64, bytes: [UInt8])] {
        var out: [(Int64, [UInt8])] = []
        var seq = first
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            out.append((seq, [UInt8](line)))
            seq += 1
        }
        return out
    }
}

import AmarreCore
