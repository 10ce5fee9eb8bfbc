import GRDB

/// The replica's schema. A migration never changes once it has shipped: add a new one.
enum Schema {
    /// Every migration, in order. Tests pin the text of shipped ones.
    static let migrations: [(identifier: String, sql: String)] = [
        (
            "v1",
            """
            CREATE TABLE meta (
                key TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE record (
                collection TEXT NOT NULL,
                id TEXT NOT NULL,
                body TEXT NOT NULL,
                hash TEXT NOT NULL,
                updated_at INTEGER NOT NULL,
                deleted_at INTEGER,
                origin TEXT NOT NULL,
                vv TEXT NOT NULL,
                gen INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                dirty INTEGER NOT NULL,
                pos INTEGER,
                PRIMARY KEY (collection, id)
            ) WITHOUT ROWID;
            CREATE UNIQUE INDEX record_by_seq ON record(seq);
            CREATE INDEX record_unpushed ON record(seq) WHERE dirty = 1;

            CREATE TABLE shape (
                name TEXT PRIMARY KEY NOT NULL,
                kind TEXT NOT NULL,
                ord INTEGER NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE import_baseline (
                collection TEXT NOT NULL,
                id TEXT NOT NULL,
                hash TEXT NOT NULL,
                vv TEXT NOT NULL,
                gen INTEGER NOT NULL,
                PRIMARY KEY (collection, id)
            ) WITHOUT ROWID;
            """
        ),
        (
            "v2",
            """
            CREATE TABLE baseline (
                scope TEXT NOT NULL,
                collection TEXT NOT NULL,
                id TEXT NOT NULL,
                hash TEXT NOT NULL,
                vv TEXT NOT NULL,
                gen INTEGER NOT NULL,
                PRIMARY KEY (scope, collection, id)
            ) WITHOUT ROWID;
            INSERT INTO baseline (scope, collection, id, hash, vv, gen)
                SELECT '', collection, id, hash, vv, gen FROM import_baseline;
            DROP TABLE import_baseline;

            CREATE TABLE change_time (
                seq INTEGER PRIMARY KEY NOT NULL,
                at INTEGER NOT NULL
            );
            CREATE INDEX change_time_by_at ON change_time(at);

            ALTER TABLE record DROP COLUMN pos;
            """
        ),
        (
            "v3",
            """
            CREATE INDEX record_deleted ON record(deleted_at) WHERE deleted_at IS NOT NULL;
            """
        ),
        (
            "v4",
            """
            CREATE TABLE legacy_answer (
                token TEXT PRIMARY KEY NOT NULL,
                seq INTEGER NOT NULL,
                session TEXT NOT NULL,
                parent TEXT,
                at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX legacy_answer_by_at ON legacy_answer(at);

            CREATE TABLE field_history (
                collection TEXT NOT NULL,
                id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL,
                deleted INTEGER NOT NULL,
                PRIMARY KEY (collection, id, seq)
            ) WITHOUT ROWID;
            INSERT INTO field_history (collection, id, seq, hash, deleted)
                SELECT collection, id, seq, hash, deleted_at IS NOT NULL FROM record WHERE collection IN ('farm', 'settings');
            """
        ),
    ]

    static let upgrade = SchemaUpgrade(migrations: migrations)
}
