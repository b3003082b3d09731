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
        return m
    }
}
