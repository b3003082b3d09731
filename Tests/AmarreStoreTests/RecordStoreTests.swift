import AmarreCore
import AmarreStore
import Foundation
import Logging
import Testing

private func temporaryDatabase() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("amarre-store-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("amarre.sqlite").path
}

private func session(_ id: SessionID, position: Int64, status: SessionStatus = .running) -> StoredSession {
    StoredSession(
        id: id, name: "n\(position)", instanceId: "demo", cwd: "/tmp", env: ["A": "1"], status: status,
        createdAt: 1000 + position, spawnedAt: 2000 + position, position: position)
}

private func record(_ seq: Int64, _ text: String = "x") -> [UInt8] {
    Array(#"{"_seq":\#(seq),"t":"\#(text)"}"#.utf8)
}

private let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

@Suite struct RecordStoreTests {
    @Test func sessionsComeBackInCreationOrderWithTheirSequenceBounds() throws {
        let path = temporaryDatabase()
        let a = SessionID.random(), b = SessionID.random()
        do {
            let store = try RecordStore(path: path, retention: Retention(), commitIntervalMs: 10, logger: quiet)
            store.save(session(b, position: 2))
            store.save(session(a, position: 1))
            for seq in 1...5 { store.append(a, seq: Int64(seq), data: record(Int64(seq))) }
            store.flush()
        }
        let reopened = try RecordStore(path: path, retention: Retention(), commitIntervalMs: 10, logger: quiet)
        let rows = try reopened.loadSessions()
        #expect(rows.map(\.id) == [a, b])
        #expect(rows[0].lastSeq == 5)
        #expect(rows[0].firstSeq == 1)
        #expect(rows[0].env == ["A": "1"])
        #expect(rows[1].lastSeq == 0)
    }

    @Test func replayReturnsPagesInOrderIncludingRecordsNotYetCommitted() async throws {
        let store = try RecordStore(path: temporaryDatabase(), retention: Retention(), commitIntervalMs: 10_000, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        for seq in 1...10 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        // The commit interval is long: the replay itself must commit what was handed over.
        let page = try await withCheckedThrowingContinuation { c in
            store.replay(id, after: 3, upTo: 9, limit: 4) { c.resume(with: $0) }
        }
        #expect(page.records.map { String(decoding: $0, as: UTF8.self) } == (4...7).map { #"{"_seq":\#($0),"t":"x"}"# })
        #expect(page.lastSeq == 7)
        #expect(page.firstKeptSeq == 1)
    }

    @Test func retentionDropsTheOldestRecordsAndMovesTheFirstKeptSequence() async throws {
        let store = try RecordStore(
            path: temporaryDatabase(), retention: Retention(records: 5, bytes: 1 << 20), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        for seq in 1...12 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        store.flush()
        let rows = try store.loadSessions()
        #expect(rows[0].firstSeq == 8)
        #expect(rows[0].lastSeq == 12)
        let page = try await withCheckedThrowingContinuation { c in
            store.replay(id, after: 0, upTo: 12, limit: 100) { c.resume(with: $0) }
        }
        #expect(page.records.count == 5)
        #expect(page.firstKeptSeq == 8)
    }

    @Test func retentionByBytesKeepsTheNewestRecordsThatFit() throws {
        let store = try RecordStore(
            path: temporaryDatabase(), retention: Retention(records: 1000, bytes: 100), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        let big = String(repeating: "y", count: 30)
        for seq in 1...6 { store.append(id, seq: Int64(seq), data: record(Int64(seq), big)) }
        store.flush()
        let rows = try store.loadSessions()
        let kept = rows[0].lastSeq - rows[0].firstSeq + 1
        #expect(kept * Int64(record(1, big).count) <= 100)
        #expect(kept >= 1)
        #expect(rows[0].lastSeq == 6)
    }

    @Test func deletingASessionDeletesItsRecords() async throws {
        let store = try RecordStore(path: temporaryDatabase(), retention: Retention(), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        for seq in 1...3 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        store.flush()
        store.delete(id)
        store.flush()
        #expect(try store.loadSessions().isEmpty)
        let page = try await withCheckedThrowingContinuation { c in
            store.replay(id, after: 0, upTo: 3, limit: 10) { c.resume(with: $0) }
        }
        #expect(page.records.isEmpty)
    }

    @Test func theReaderPagesForwardAndBackward() throws {
        let path = temporaryDatabase()
        let store = try RecordStore(path: path, retention: Retention(), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        for seq in 1...20 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        store.flush()
        let reader = try RecordReader(path: path)
        let forward = try JSONSerialization.jsonObject(with: Data(reader.eventsJSON(id, after: 15, before: nil, limit: 3))) as? [[String: Any]]
        #expect(forward?.compactMap { $0["_seq"] as? Int } == [16, 17, 18])
        let backward = try JSONSerialization.jsonObject(with: Data(reader.eventsJSON(id, after: nil, before: 6, limit: 3))) as? [[String: Any]]
        #expect(backward?.compactMap { $0["_seq"] as? Int } == [3, 4, 5])
        let empty = try reader.eventsJSON(SessionID.random(), after: 0, before: nil, limit: 10)
        #expect(empty == Array("[]".utf8))
    }

    @Test func readerPagesAreBoundedInBytesButHoldAtLeastOneRecord() throws {
        let path = temporaryDatabase()
        let store = try RecordStore(path: path, retention: Retention(), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        // Records of 1.5 MiB: a 4 MiB page holds two of them, however large `limit` is.
        let big = String(repeating: "b", count: 3 << 19)
        for seq in 1...6 { store.append(id, seq: Int64(seq), data: record(Int64(seq), big)) }
        // One larger than a whole page still comes, alone.
        store.append(id, seq: 7, data: record(7, String(repeating: "h", count: 5 << 20)))
        store.flush()
        let reader = try RecordReader(path: path)
        func seqs(_ bytes: [UInt8]) throws -> [Int] {
            try (JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] ?? []).compactMap { $0["_seq"] as? Int }
        }
        #expect(try seqs(reader.eventsJSON(id, after: 0, before: nil, limit: 1000)) == [1, 2])
        #expect(try seqs(reader.eventsJSON(id, after: 2, before: nil, limit: 1000)) == [3, 4])
        #expect(try seqs(reader.eventsJSON(id, after: 6, before: nil, limit: 1000)) == [7])
        // Backward pages keep the newest records that fit.
        #expect(try seqs(reader.eventsJSON(id, after: nil, before: 7, limit: 1000)) == [5, 6])
        #expect(try seqs(reader.eventsJSON(id, after: nil, before: 8, limit: 1000)) == [7])
    }

    @Test func pendingRequestsAndResumeTokenAreKeptWithTheSession() throws {
        let path = temporaryDatabase()
        let store = try RecordStore(path: path, retention: Retention(), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        var s = session(id, position: 1)
        s.pendingRequests = ["r1", "r2"]
        s.resumeToken = "claude-session-1"
        s.status = .crashed
        s.exitCode = 3
        store.save(s)
        let row = try #require(try store.loadSessions().first)
        #expect(row.pendingRequests == ["r1", "r2"])
        #expect(row.resumeToken == "claude-session-1")
        #expect(row.status == .crashed)
        #expect(row.exitCode == 3)
    }
}

@Suite struct ChunkedRetentionTests {
    @Test(arguments: [1, 5, 50, 255, 256, 257, 300])
    func retentionKeepsExactlyTheNewestRecordsAcrossChunks(cap: Int) async throws {
        let store = try RecordStore(
            path: temporaryDatabase(), retention: Retention(records: cap, bytes: 1 << 30), commitIntervalMs: 10, logger: quiet)
        let id = SessionID.random()
        store.save(session(id, position: 1))
        // Two commits, so chunks of different sizes meet the cut.
        for seq in 1...400 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        store.flush()
        for seq in 401...700 { store.append(id, seq: Int64(seq), data: record(Int64(seq))) }
        store.flush()
        let rows = try store.loadSessions()
        #expect(rows[0].lastSeq == 700)
        #expect(rows[0].firstSeq == Int64(700 - min(cap, 700) + 1))
        let page = try await withCheckedThrowingContinuation { c in
            store.replay(id, after: 0, upTo: 700, limit: 1000) { c.resume(with: $0) }
        }
        #expect(page.records.count == min(cap, 700))
        #expect(page.records.last == record(700))
    }
}
