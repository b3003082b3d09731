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
        // Built in place: copying a chunk out of the dictionary to append to it would copy
        // its bytes on every record.
        var open: [SessionID: Int] = [:]  // index in `building`
        var building: [(session: SessionID, first: Int64, last: Int64, count: Int, data: [UInt8])] = []
        for (id, seq, record) in records {
            if let i = open[id] {
                let c = building[i]
                if c.last + 1 == seq, c.count < maxRecords, c.data.count + record.count + 1 <= maxBytes {
                    building[i].data.append(0x0A)
                    building[i].data.append(contentsOf: record)
                    building[i].last = seq
                    building[i].count += 1
                    continue
                }
            }
            var data = [UInt8]()
            data.reserveCapacity(min(maxBytes, max(record.count, 16 << 10)))
            data.append(contentsOf: record)
            open[id] = building.count
            building.append((id, seq, seq, 1, data))
        }
        return building.map { ($0.session, $0.first, $0.last, Data($0.data)) }
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
