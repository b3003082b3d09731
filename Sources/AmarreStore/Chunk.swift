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
        data.withUnsafeBytes { raw -> [(seq: Int64, bytes: [UInt8])] in
            var out: [(seq: Int64, bytes: [UInt8])] = []
            out.reserveCapacity(64)
            var seq = first
            var start = 0
            while start <= raw.count {
                let rest = UnsafeRawBufferPointer(rebasing: raw[start...])
                let end: Int
                if let base = rest.baseAddress, let hit = memchr(base, 0x0A, rest.count) {
                    end = start + base.distance(to: UnsafeRawPointer(hit))
                } else {
                    end = raw.count
                }
                out.append((seq, [UInt8](UnsafeRawBufferPointer(rebasing: raw[start..<end]))))
                seq += 1
                start = end + 1
            }
            return out
        }
    }
}

import AmarreCore
