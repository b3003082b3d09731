import AmarreCore
import Foundation
import GRDB

/// Versioned migrations of the store. Append, never edit a shipped one.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: sessions and records") { db in
            try db.execute(
                sql: """
                    CREATE TABLE session (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT,
                        instance_id TEXT NOT NULL,
                        cwd TEXT,
                        env TEXT,
                        status TEXT NOT NULL,
                        exit_code INTEGER,
                        signal TEXT,
                        created_at INTEGER NOT NULL,
                        spawned_at INTEGER NOT NULL,
                        position INTEGER NOT NULL,
                        resume_token TEXT,
                        pending TEXT NOT NULL DEFAULT '[]',
                        first_seq INTEGER NOT NULL DEFAULT 1
                    );
                    CREATE TABLE record (
                        session_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        PRIMARY KEY (session_id, seq)
                    ) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("v2: records in chunks") { db in
            // One row per run of consecutive records of a session: their JSON texts joined by
            // newlines. The writer then pays SQLite's per-row cost once per chunk, not per record.
            try db.execute(
                sql: """
                    CREATE TABLE chunk (
                        session_id TEXT NOT NULL,
                        first_seq INTEGER NOT NULL,
                        last_seq INTEGER NOT NULL,
                        data BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX chunk_by_first ON chunk (session_id, first_seq);
                    CREATE UNIQUE INDEX chunk_by_last ON chunk (session_id, last_seq);
                    INSERT INTO chunk (session_id, first_seq, last_seq, data)
                        SELECT session_id, seq, seq, data FROM record;
                    DROP TABLE record;
                    """)
        }
        m.registerMigration("v3: reserved sequence numbers") { db in
            // Sequence numbers handed out before a SIGKILL may be lost with the last commit;
            // a reservation written ahead of them keeps them from being handed out again.
            try db.execute(sql: "ALTER TABLE session ADD COLUMN seq_reserved INTEGER NOT NULL DEFAULT 0")
        }
        m.registerMigration("v4: full-text search") { db in
            // One document per searchable text of a record (search_doc), its words in an FTS5
            // table whose rowid is the document's id: retention and deletes remove them by
            // (session, seq) through search_doc's index, never by scanning the FTS table.
            try db.execute(
                sql: """
                    CREATE TABLE search_doc (
                        id INTEGER PRIMARY KEY,
                        session_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        time INTEGER NOT NULL
                    );
                    CREATE INDEX search_doc_by_record ON search_doc (session_id, seq);
                    CREATE VIRTUAL TABLE search USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
                    """)
            // Existing records are indexed once, here.
            let rows = try Row.fetchCursor(db, sql: "SELECT session_id, first_seq, data FROM chunk ORDER BY session_id, first_seq")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            while let row = try rows.next() {
                guard let id = SessionID(row["session_id"] as String) else { continue }
                let records = Chunk.records(first: row["first_seq"], data: row["data"]).map { (id, $0.seq, $0.bytes) }
                try SearchText.index(db, records, time: now)
            }
        }
        m.registerMigration("v5: worktrees") { db in
            try db.execute(sql: "ALTER TABLE session ADD COLUMN worktree TEXT")
        }
        m.registerMigration("v6: agent state") { db in
            // What one agent process of a session hands to the next (tools allowed for the
            // session, the conversation's size), as the host's adapters write it (JSON).
            try db.execute(sql: "ALTER TABLE session ADD COLUMN agent_state TEXT")
        }
        return m
    }
}
