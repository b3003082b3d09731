public import AmarreCore
import Foundation
import CoreMetrics
import GRDB
public import Logging
import Synchronization

/// The host's durable store: the session registry and every record, in SQLite (WAL).
///
/// Writes are batched: the relay hands records over without waiting, and a serial writer
/// commits everything pending at most `commitInterval` later (sooner when a batch grows past
/// `maxBatchBytes`). A host killed with SIGKILL loses at most the records of its last commit
/// interval; SQLite's WAL keeps what was committed intact.
/// Thread-safe: the pending batch is behind a mutex, everything else runs on `writerQueue`.
public final class RecordStore: Sendable {
    /// Records handed over but not committed yet.
    private struct Batch {
        var records: [(SessionID, Int64, [UInt8])] = []
        /// The records among them that may hold searchable text (the same arrays, not copies).
        var searchable: [(SessionID, Int64, [UInt8])] = []
        var bytes = 0
        var sessions: [SessionID: StoredSession] = [:]
        var deleted: Set<SessionID> = []
        var flushScheduled = false
        var commitRequested = false
    }

    /// Bytes pending before a commit is started without waiting for the interval.
    public static let maxBatchBytes = 4 << 20
    /// Bytes kept for a retry after failed commits (a full disk); past it the oldest pending
    /// records are dropped, logged.
    public static let maxRetryBytes = 256 << 20

    private let pool: DatabasePool
    private let batch = Mutex(Batch())
    private let writerQueue = DispatchQueue(label: "amarre.store.writer")
    private let commitInterval: DispatchTimeInterval
    private let retention: Retention
    private let logger: Logger
    /// Record bytes handed over and not committed yet (pending and being committed), and who
    /// waits for them to fall below a mark (`whenBacklog(below:)`).
    private let backlog = Mutex((bytes: 0, waiting: [(mark: Int, body: @Sendable () -> Void)]()))
    /// Per-session count and bytes of kept records, maintained by the writer for retention.
    private let kept = Mutex([SessionID: (count: Int, bytes: Int, first: Int64)]())

    public init(path: String, retention: Retention, commitIntervalMs: Int, logger: Logger) throws {
        var config = Configuration()
        config.label = "amarre.store"
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try StoreSchema.migrator.migrate(pool)
        self.retention = retention
        self.commitInterval = .milliseconds(commitIntervalMs)
        self.logger = logger
        try reloadKept()
    }

    // MARK: writes (never block the caller on the disk)

    /// Queues one record; it is committed within the commit interval.
    ///
    /// - Parameter type: the record's `type`; records of the types that hold searchable text
    ///   are indexed by the writer (parsed there, off the caller's thread).
    public func append(_ session: SessionID, seq: Int64, data: [UInt8], type: String? = nil) {
        let searchable = type.map(SearchText.indexedTypes.contains) ?? false
        backlog.withLock { $0.bytes += data.count }
        let flushNow = batch.withLock { b -> Bool in
            b.records.append((session, seq, data))
            if searchable { b.searchable.append((session, seq, data)) }
            b.bytes += data.count
            return scheduleIfNeeded(&b)
        }
        if flushNow { writerQueue.async { self.commit() } }
    }

    /// Record bytes handed over and not committed yet: what the writer still holds in memory.
    public var backlogBytes: Int { backlog.withLock { $0.bytes } }

    /// Runs `body` (on the writer's thread) once the backlog is below `mark`, at once when it is.
    public func whenBacklog(below mark: Int, _ body: @escaping @Sendable () -> Void) {
        let now = backlog.withLock { b -> Bool in
            guard b.bytes >= mark else { return true }
            b.waiting.append((mark, body))
            return false
        }
        if now { body() }
    }

    /// After a commit (or records dropped): the backlog shrank by `bytes`; wakes who waits.
    private func backlogShrank(by bytes: Int) {
        let ready = backlog.withLock { b -> [@Sendable () -> Void] in
            b.bytes = max(0, b.bytes - bytes)
            let due = b.waiting.filter { b.bytes < $0.mark }.map(\.body)
            b.waiting.removeAll { b.bytes < $0.mark }
            return due
        }
        for body in ready { body() }
    }

    /// Queues the registry row of a session (inserted or replaced).
    public func save(_ session: StoredSession) {
        let flushNow = batch.withLock { b -> Bool in
            b.sessions[session.id] = session
            b.deleted.remove(session.id)
            return scheduleIfNeeded(&b)
        }
        if flushNow { writerQueue.async { self.commit() } }
    }

    /// Queues the deletion of a session and all its records.
    public func delete(_ session: SessionID) {
        var removed = 0
        let flushNow = batch.withLock { b -> Bool in
            b.sessions[session] = nil
            removed = b.records.reduce(0) { $1.0 == session ? $0 + $1.2.count : $0 }
            b.bytes -= removed
            b.records.removeAll { $0.0 == session }
            b.searchable.removeAll { $0.0 == session }
            b.deleted.insert(session)
            return scheduleIfNeeded(&b)
        }
        if removed > 0 { backlogShrank(by: removed) }
        if flushNow { writerQueue.async { self.commit() } }
    }

    /// Returns true when the caller must start a commit now; otherwise arms the timer once.
    private func scheduleIfNeeded(_ b: inout Batch) -> Bool {
        if b.bytes >= RecordStore.maxBatchBytes, !b.commitRequested {
            b.commitRequested = true
            return true
        }
        guard !b.flushScheduled else { return false }
        b.flushScheduled = true
        writerQueue.asyncAfter(deadline: .now() + commitInterval) { self.commit() }
        return false
    }

    /// Commits everything pending now, and waits for it. For shutdown and tests.
    public func flush() {
        writerQueue.sync { commit() }
    }

    /// `amarre_store_commit_seconds`, `amarre_store_commit_records`: made on first use, after
    /// the process has bootstrapped its metrics.
    private static let commitSeconds = CoreMetrics.Timer(label: "amarre_store_commit_seconds")
    private static let commitRecords = Recorder(label: "amarre_store_commit_records")

    /// Makes the store's series (at 0) before the first commit.
    public static func registerMetrics() {
        _ = (commitSeconds, commitRecords)
    }

    /// Runs on `writerQueue`.
    private func commit() {
        let work = batch.withLock { b -> Batch in
            let taken = b
            b = Batch()
            return taken
        }
        guard !work.records.isEmpty || !work.sessions.isEmpty || !work.deleted.isEmpty else { return }
        // Built before the transaction: the write lock is held only for SQLite's work.
        let chunks = Chunk.build(work.records)
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            Self.commitSeconds.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            Self.commitRecords.record(work.records.count)
        }
        do {
            try pool.write { db in
                for id in work.deleted {
                    try db.execute(sql: "DELETE FROM chunk WHERE session_id = ?", arguments: [id.rawValue])
                    try db.execute(sql: "DELETE FROM session WHERE id = ?", arguments: [id.rawValue])
                    try SearchText.remove(db, session: id)
                }
                for s in work.sessions.values { try upsert(db, s) }
                let insert = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO chunk (session_id, first_seq, last_seq, data) VALUES (?, ?, ?, ?)")
                for chunk in chunks {
                    try insert.execute(arguments: [chunk.session.rawValue, chunk.first, chunk.last, chunk.data])
                }
                try SearchText.index(db, work.searchable, time: Int64(Date().timeIntervalSince1970 * 1000))
                try applyRetention(db, chunks: chunks)
            }
            kept.withLock { k in for id in work.deleted { k[id] = nil } }
            backlogShrank(by: work.bytes)
        } catch {
            logger.error("store commit failed; kept for a retry", metadata: ["error": "\(error)", "records": "\(work.records.count)"])
            retry(work)
        }
    }

    /// Puts a failed commit's work back in front of what came since, so the log gets no hole,
    /// and re-reads the retention counts the rolled-back transaction had changed.
    private func retry(_ failed: Batch) {
        var shrunk = 0
        let flushNow = batch.withLock { b -> Bool in
            let held = failed.bytes + b.bytes
            var merged = failed
            merged.records += b.records
            merged.searchable += b.searchable
            merged.bytes += b.bytes
            for (id, s) in b.sessions { merged.sessions[id] = s }
            for id in b.deleted {
                merged.deleted.insert(id)
                merged.sessions[id] = nil
                merged.records.removeAll { $0.0 == id }
                merged.searchable.removeAll { $0.0 == id }
            }
            var dropped = 0
            var droppedKeys = Set<String>()
            while merged.bytes > RecordStore.maxRetryBytes, !merged.records.isEmpty {
                let record = merged.records.removeFirst()
                merged.bytes -= record.2.count
                droppedKeys.insert("\(record.0.rawValue)/\(record.1)")
                dropped += 1
            }
            // What was never stored is not indexed either.
            if !droppedKeys.isEmpty { merged.searchable.removeAll { droppedKeys.contains("\($0.0.rawValue)/\($0.1)") } }
            if dropped > 0 {
                logger.error("store retry buffer full: oldest records dropped", metadata: ["records": "\(dropped)"])
            }
            merged.flushScheduled = false
            merged.commitRequested = false
            // Deleted sessions' records and dropped ones are no longer held.
            merged.bytes = merged.records.reduce(0) { $0 + $1.2.count }
            shrunk = held - merged.bytes
            b = merged
            return scheduleIfNeeded(&b)
        }
        if shrunk > 0 { backlogShrank(by: shrunk) }
        try? reloadKept()
        if flushNow { writerQueue.async { self.commit() } }
    }

    private func reloadKept() throws {
        let counts = try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT session_id, SUM(last_seq - first_seq + 1) AS n, SUM(LENGTH(data)) AS b, MIN(first_seq) AS f
                    FROM chunk GROUP BY session_id
                    """)
        }
        kept.withLock { k in
            k.removeAll()
            for row in counts {
                guard let id = SessionID(row["session_id"] as String) else { continue }
                k[id] = (row["n"], row["b"], row["f"])
            }
        }
    }

    private func upsert(_ db: Database, _ s: StoredSession) throws {
        let env = try s.env.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let pending = String(decoding: try JSONEncoder().encode(s.pendingRequests), as: UTF8.self)
        let worktree = try s.worktree.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try db.execute(
            sql: """
                INSERT INTO session (id, name, instance_id, cwd, env, status, exit_code, signal, created_at,
                                     spawned_at, position, resume_token, pending, seq_reserved, worktree, agent_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET name = excluded.name, status = excluded.status,
                    exit_code = excluded.exit_code, signal = excluded.signal, spawned_at = excluded.spawned_at,
                    resume_token = excluded.resume_token, pending = excluded.pending,
                    seq_reserved = excluded.seq_reserved, agent_state = excluded.agent_state
                """,
            arguments: [
                s.id.rawValue, s.name, s.instanceId, s.cwd, env, s.status.rawValue, s.exitCode, s.signal,
                s.createdAt, s.spawnedAt, s.position, s.resumeToken, pending, s.seqReserved, worktree,
                s.agentState,
            ])
    }

    /// Drops the oldest records of sessions over their caps.
    private func applyRetention(_ db: Database, chunks: [(session: SessionID, first: Int64, last: Int64, data: Data)]) throws {
        // Counted per chunk, not per record: a flood commits thousands of records at a time.
        var added: [SessionID: (count: Int, bytes: Int, first: Int64)] = [:]
        for chunk in chunks {
            var a = added[chunk.session] ?? (0, 0, chunk.first)
            a.count += Int(chunk.last - chunk.first + 1)
            a.bytes += chunk.data.count
            a.first = min(a.first, chunk.first)
            added[chunk.session] = a
        }
        var over: [SessionID: (count: Int, bytes: Int, first: Int64)] = [:]
        kept.withLock { k in
            for (id, a) in added {
                var e = k[id] ?? (0, 0, a.first)
                e.count += a.count
                e.bytes += a.bytes
                k[id] = e
                if e.count > retention.records || e.bytes > retention.bytes { over[id] = e }
            }
        }
        for (id, e) in over {
            // Drop whole chunks from the oldest; trim the chunk that straddles the cut.
            var count = e.count
            var bytes = e.bytes
            var cut: Int64 = e.first
            let rows = try Row.fetchCursor(
                db,
                sql: "SELECT first_seq, last_seq, LENGTH(data) AS len FROM chunk WHERE session_id = ? ORDER BY first_seq",
                arguments: [id.rawValue])
            var trimmed: (oldFirst: Int64, newFirst: Int64, data: Data)?
            while count > retention.records || bytes > retention.bytes, let row = try rows.next() {
                let first: Int64 = row["first_seq"]
                let last: Int64 = row["last_seq"]
                let n = Int(last - first + 1)
                let len: Int = row["len"]
                if count - n > retention.records || bytes - len > retention.bytes {
                    count -= n
                    bytes -= len
                    cut = last + 1
                    continue
                }
                // This chunk holds the oldest records to keep: drop its oldest records only.
                guard let data = try Data.fetchOne(
                    db, sql: "SELECT data FROM chunk WHERE session_id = ? AND first_seq = ?", arguments: [id.rawValue, first])
                else { break }
                var records = Chunk.records(first: first, data: data)[...]
                bytes -= len
                while !records.isEmpty,
                      count > retention.records
                        || bytes + records.reduce(records.count - 1, { $0 + $1.bytes.count }) > retention.bytes
                {
                    records.removeFirst()
                    count -= 1
                }
                guard let newFirst = records.first?.seq else {
                    cut = last + 1  // nothing of this chunk fits: it goes whole
                    break
                }
                let kept = Data(records.map { Data($0.bytes) }.joined(separator: Data([0x0A])))
                bytes += kept.count
                cut = newFirst
                trimmed = (first, newFirst, kept)
                break
            }
            try db.execute(sql: "DELETE FROM chunk WHERE session_id = ? AND last_seq < ?", arguments: [id.rawValue, cut])
            if let t = trimmed, t.newFirst != t.oldFirst {
                try db.execute(
                    sql: "UPDATE chunk SET first_seq = ?, data = ? WHERE session_id = ? AND first_seq = ?",
                    arguments: [t.newFirst, t.data, id.rawValue, t.oldFirst])
            }
            try db.execute(sql: "UPDATE session SET first_seq = ? WHERE id = ?", arguments: [cut, id.rawValue])
            try SearchText.remove(db, session: id, below: cut)
            kept.withLock { k in k[id] = (count, bytes, cut) }
        }
    }

    // MARK: reads

    /// Every session, in creation order, with its sequence bounds. Commits pending writes first.
    public func loadSessions() throws -> [StoredSession] {
        flush()
        return try pool.read { db in try RecordStore.sessions(db) }
    }

    static func sessions(_ db: Database) throws -> [StoredSession] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT s.*, (SELECT MAX(last_seq) FROM chunk c WHERE c.session_id = s.id) AS last_seq
                FROM session s ORDER BY position
                """)
        return rows.compactMap { row -> StoredSession? in
            guard let id = SessionID(row["id"] as String),
                  let status = SessionStatus(rawValue: row["status"] as String)
            else { return nil }
            let env = (row["env"] as String?).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            let pending = (try? JSONDecoder().decode([String].self, from: Data((row["pending"] as String).utf8))) ?? []
            let first: Int64 = row["first_seq"]
            let last: Int64 = (row["last_seq"] as Int64?) ?? (first - 1)
            return StoredSession(
                id: id, name: row["name"], instanceId: row["instance_id"], cwd: row["cwd"], env: env, status: status,
                exitCode: row["exit_code"], signal: row["signal"], createdAt: row["created_at"],
                spawnedAt: row["spawned_at"], position: row["position"], resumeToken: row["resume_token"],
                pendingRequests: pending, lastSeq: last, firstSeq: first, seqReserved: row["seq_reserved"],
                worktree: (row["worktree"] as String?).flatMap { try? JSONDecoder().decode(WorktreeInfo.self, from: Data($0.utf8)) },
                agentState: row["agent_state"])
        }
    }

    /// Reads records with `after < seq <= upTo`, at most `limit`, after committing every
    /// record handed over so far (so a replay never misses one). Runs `completion` on the
    /// writer queue.
    public func replay(
        _ session: SessionID, after: Int64, upTo: Int64, limit: Int, maxBytes: Int = .max,
        completion: @escaping @Sendable (Result<RecordPage, any Error>) -> Void
    ) {
        writerQueue.async {
            self.commit()
            completion(
                Result {
                    try self.pool.read { db in
                        try RecordStore.page(db, session, after: after, upTo: upTo, limit: limit, maxBytes: maxBytes)
                    }
                })
        }
    }

    static func page(_ db: Database, _ session: SessionID, after: Int64, upTo: Int64, limit: Int, maxBytes: Int) throws
        -> RecordPage
    {
        let first = try Int64.fetchOne(db, sql: "SELECT first_seq FROM session WHERE id = ?", arguments: [session.rawValue]) ?? 1
        let records = try forward(db, session, after: after, upTo: upTo, limit: limit, maxBytes: maxBytes)
        return RecordPage(records: records.map(\.bytes), lastSeq: records.last?.seq, firstKeptSeq: first)
    }

    /// Records with `after < seq <= upTo`, oldest first, at most `limit` records and about
    /// `maxBytes` bytes (at least one record).
    static func forward(
        _ db: Database, _ session: SessionID, after: Int64, upTo: Int64, limit: Int, maxBytes: Int = .max
    ) throws -> [(seq: Int64, bytes: [UInt8])] {
        var out: [(seq: Int64, bytes: [UInt8])] = []
        var bytes = 0
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT first_seq, data FROM chunk
                WHERE session_id = ? AND last_seq > ? AND first_seq <= ? ORDER BY last_seq
                """,
            arguments: [session.rawValue, after, upTo])
        scan: while out.count < limit, bytes < maxBytes, let row = try rows.next() {
            for r in Chunk.records(first: row["first_seq"], data: row["data"]) where r.seq > after && r.seq <= upTo {
                if !out.isEmpty, bytes + r.bytes.count > maxBytes { break scan }
                out.append(r)
                bytes += r.bytes.count
                if out.count == limit { break }
            }
        }
        return out
    }

    /// The newest `limit` records with `seq < before`, oldest first.
    /// At most `maxBytes` of record text, but always at least one record.
    static func backward(_ db: Database, _ session: SessionID, before: Int64, limit: Int, maxBytes: Int = .max) throws
        -> [(seq: Int64, bytes: [UInt8])]
    {
        var newestFirst: [(seq: Int64, bytes: [UInt8])] = []
        var bytes = 0
        let rows = try Row.fetchCursor(
            db,
            sql: "SELECT first_seq, data FROM chunk WHERE session_id = ? AND first_seq < ? ORDER BY first_seq DESC",
            arguments: [session.rawValue, before])
        scan: while newestFirst.count < limit, let row = try rows.next() {
            for r in Chunk.records(first: row["first_seq"], data: row["data"]).reversed() where r.seq < before {
                if !newestFirst.isEmpty, bytes + r.bytes.count > maxBytes { break scan }
                newestFirst.append(r)
                bytes += r.bytes.count
                if newestFirst.count == limit { break }
            }
        }
        return newestFirst.reversed()
    }
}
